/**
 * The values the fuzz generators build: JSON trees with markers for what
 * cannot be generated up front. Live values (an existing queue's name, a
 * receipt the gateway handed out) are only known when the request is sent;
 * huge strings and deep nesting are written as text on the way out, because
 * building them as objects would cost memory and JSON.stringify would
 * overflow the stack on them.
 */

/** Kinds of names the gateway holds; a path parameter or body field of that name gets an existing one. */
export type Role = 'queue' | 'topic' | 'group' | 'subscription' | 'push' | 'memberId' | 'any';

/** How a live receipt is spoiled to forge one that looks real. */
export type Forgery =
  | 'none'
  | 'nextDelivery'
  | 'previousDelivery'
  | 'otherMessage'
  | 'otherSubscription'
  | 'truncated'
  | 'swapCase'
  | 'padded'
  | 'maxDigits'
  | 'notBase64';

/** How the test's API key is presented, rightly or spoiled. */
export type CredentialForgery =
  | 'none'
  | 'narrow'
  | 'lowercaseScheme'
  | 'truncated'
  | 'otherSecret'
  | 'unknownId'
  | 'extraToken'
  | 'noScheme'
  | 'basic'
  | 'empty';

/** An Authorization header value with one of the gateway's API keys (`narrow`: a key with few scopes), or spoiled. */
export class LiveCredential {
  constructor(
    readonly pick: number,
    readonly forgery: CredentialForgery,
  ) {}
}

/** The name of an existing resource of `role`, chosen by `pick` when the request is sent. */
export class LiveName {
  constructor(
    readonly role: Role,
    readonly pick: number,
  ) {}
}

/** A receipt the gateway handed out earlier (preferably for the same source), possibly forged. */
export class LiveReceipt {
  constructor(
    readonly pick: number,
    readonly forgery: Forgery,
  ) {}
}

/** A consumer group member's current generation, plus `offBy` (0: the real one, else a stale or future one). */
export class LiveGeneration {
  constructor(
    readonly pick: number,
    readonly offBy: number,
  ) {}
}

/** `count` copies of `unit`: a string too large to build while generating. */
export class Huge {
  constructor(
    readonly unit: string,
    readonly count: number,
  ) {}
}

/** Arrays or objects nested `depth` levels deep. */
export class Deep {
  constructor(
    readonly depth: number,
    readonly shape: 'array' | 'object',
  ) {}
}

/** JSON text written as is: numbers JSON.stringify cannot write (`1e999`, `-0`, `9007199254740993`). */
export class Verbatim {
  constructor(readonly text: string) {}
}

/** A JSON string whose bytes are written as they are, invalid UTF-8 included. */
export class RawString {
  constructor(readonly bytes: Uint8Array) {}
}

export type Marker = LiveName | LiveReceipt | LiveGeneration | LiveCredential | Huge | Deep | Verbatim | RawString;
export type JsonTree = null | boolean | number | string | Marker | JsonTree[] | JsonObject;
export interface JsonObject {
  [key: string]: JsonTree;
}

/** A path, query or header value: text, or a marker resolved to text. */
export type Text = string | number | LiveName | LiveReceipt | LiveGeneration | LiveCredential | Huge;

export function isMarker(node: unknown): node is Marker {
  return (
    node instanceof LiveName ||
    node instanceof LiveReceipt ||
    node instanceof LiveGeneration ||
    node instanceof LiveCredential ||
    node instanceof Huge ||
    node instanceof Deep ||
    node instanceof Verbatim ||
    node instanceof RawString
  );
}

export function isJsonObject(node: JsonTree): node is JsonObject {
  return typeof node === 'object' && node !== null && !Array.isArray(node) && !isMarker(node);
}

/** Sets an own property, also for keys such as `__proto__` that plain assignment would treat specially. */
export function withProperty(object: JsonObject, key: string, value: JsonTree): JsonObject {
  const copy: JsonObject = {};
  for (const [k, v] of Object.entries(object)) Object.defineProperty(copy, k, { value: v, enumerable: true, writable: true, configurable: true });
  Object.defineProperty(copy, key, { value, enumerable: true, writable: true, configurable: true });
  return copy;
}

/** What live markers resolve to; the request being sent keeps the scope (the topic its path names, …). */
export interface Resolver {
  name(role: Role, pick: number): string;
  receipt(pick: number, forgery: Forgery): string;
  generation(pick: number, offBy: number): number;
  credential(pick: number, forgery: CredentialForgery): string;
}

export function resolveText(text: Text, resolver: Resolver): string {
  if (typeof text === 'string') return text;
  if (typeof text === 'number') return String(text);
  if (text instanceof LiveName) return resolver.name(text.role, text.pick);
  if (text instanceof LiveReceipt) return resolver.receipt(text.pick, text.forgery);
  if (text instanceof LiveGeneration) return String(resolver.generation(text.pick, text.offBy));
  if (text instanceof LiveCredential) return resolver.credential(text.pick, text.forgery);
  return text.unit.repeat(text.count);
}

function deepText(deep: Deep): string {
  return deep.shape === 'array' ? `${'['.repeat(deep.depth)}${']'.repeat(deep.depth)}` : `${'{"a":'.repeat(deep.depth)}0${'}'.repeat(deep.depth)}`;
}

function writeMarker(node: Marker, resolver: Resolver, out: Array<string | Uint8Array>): void {
  if (node instanceof Verbatim) out.push(node.text);
  else if (node instanceof Deep) out.push(deepText(node));
  else if (node instanceof RawString) out.push('"', node.bytes, '"');
  else if (node instanceof Huge) out.push(`"${JSON.stringify(node.unit).slice(1, -1).repeat(node.count)}"`);
  else if (node instanceof LiveGeneration) out.push(String(resolver.generation(node.pick, node.offBy)));
  else out.push(JSON.stringify(resolveText(node, resolver)));
}

function write(node: JsonTree, resolver: Resolver, out: Array<string | Uint8Array>): void {
  if (isMarker(node)) {
    writeMarker(node, resolver, out);
  } else if (Array.isArray(node)) {
    out.push('[');
    node.forEach((item, i) => {
      if (i > 0) out.push(',');
      write(item, resolver, out);
    });
    out.push(']');
  } else if (isJsonObject(node)) {
    out.push('{');
    Object.entries(node).forEach(([key, value], i) => {
      out.push(`${i > 0 ? ',' : ''}${JSON.stringify(key)}:`);
      write(value, resolver, out);
    });
    out.push('}');
  } else {
    // JSON.stringify writes NaN and ±Infinity as null; generators use Verbatim for the texts they mean.
    out.push(JSON.stringify(node));
  }
}

/** The JSON text of a tree as bytes, markers resolved; the only serializer, so bytes are exactly what was meant. */
export function jsonBytes(node: JsonTree, resolver: Resolver): Buffer {
  const out: Array<string | Uint8Array> = [];
  write(node, resolver, out);
  return Buffer.concat(out.map((part) => (typeof part === 'string' ? Buffer.from(part, 'utf8') : part)));
}

/** Every position in a tree, as the keys and indexes that lead to it (the root is `[]`). */
export function treePaths(node: JsonTree, at: Array<string | number> = [], paths: Array<Array<string | number>> = []): Array<Array<string | number>> {
  paths.push(at);
  if (Array.isArray(node)) node.forEach((item, i) => treePaths(item, [...at, i], paths));
  else if (isJsonObject(node)) for (const [key, value] of Object.entries(node)) treePaths(value, [...at, key], paths);
  return paths;
}

export function nodeAt(node: JsonTree, path: Array<string | number>): JsonTree {
  let current = node;
  for (const step of path) {
    if (Array.isArray(current) && typeof step === 'number') current = current[step];
    else if (isJsonObject(current) && typeof step === 'string') current = current[step];
    else return null;
  }
  return current;
}

/** A copy of `node` with the value at `path` replaced (`undefined`: removed). */
export function replaceAt(node: JsonTree, path: Array<string | number>, value: JsonTree | undefined): JsonTree | undefined {
  if (path.length === 0) return value;
  const [step, ...rest] = path;
  if (Array.isArray(node) && typeof step === 'number') {
    const replaced = replaceAt(node[step], rest, value);
    const copy = [...node];
    if (replaced === undefined) copy.splice(step, 1);
    else copy[step] = replaced;
    return copy;
  }
  if (isJsonObject(node) && typeof step === 'string') {
    const replaced = replaceAt(node[step], rest, value);
    const copy: JsonObject = {};
    for (const [key, child] of Object.entries(node)) {
      const kept = key === step ? replaced : child;
      if (kept !== undefined) Object.defineProperty(copy, key, { value: kept, enumerable: true, writable: true, configurable: true });
    }
    return copy;
  }
  return node;
}
