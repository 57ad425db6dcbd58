import fc from 'fast-check';
import type { SpecOperation } from '../../api/spec';
import { type CredentialForgery, Deep, Huge, isJsonObject, LiveCredential, type JsonObject, type JsonTree, nodeAt, RawString, replaceAt, type Text, treePaths, Verbatim, withProperty } from './fuzzJson';
import type { Body, ChunkFault, FuzzRequest, HeaderPair, QueryPair, Segment } from './fuzzRequests';

/**
 * Mutations of valid-shaped requests. Each takes a request and gives an
 * arbitrary of spoiled ones, or null when it does not apply (no body to
 * break, no path parameter to garble). The catalogue follows the ways a
 * client gets a request wrong: wrong types, missing and unknown fields, sizes
 * at and past the limits, nesting, broken encodings, odd names, bad framing.
 */

export interface MutationContext {
  op: SpecOperation;
  /** Methods the spec lists for the operation's path. */
  pathMethods: string[];
  limits: { maxBatchBytes: number; maxBatchMessages: number; maxMessageBytes: number };
  fixtureNames: string[];
}

type Mutation = (request: FuzzRequest, context: MutationContext) => fc.Arbitrary<FuzzRequest> | null;

const INVALID_UTF8: number[][] = [
  [0xff],
  [0xfe, 0xff],
  [0xc3, 0x28],
  [0xa0, 0xa1],
  [0xe2, 0x28, 0xa1],
  [0xf0, 0x28, 0x8c, 0x28],
  [0xc0, 0xaf],
  [0xed, 0xa0, 0x80],
  [0xf4, 0x90, 0x80, 0x80],
  [0x80],
  [0x61, 0xe2, 0x82],
];

const WRONG_VALUES: JsonTree[] = [
  null,
  true,
  false,
  0,
  -1,
  1.5,
  -0.5,
  2 ** 31,
  2 ** 32,
  2 ** 53,
  -(2 ** 31),
  1e21,
  '',
  ' ',
  'x',
  '1',
  'true',
  'null',
  '\u0000',
  '\ud800',
  '\u202e',
  'é😀',
  "' OR 1=1 --",
  '../..',
  '__proto__',
  [],
  {},
  [null],
  { '': null },
  new Verbatim('1e999'),
  new Verbatim('-1e999'),
  new Verbatim('-0'),
  new Verbatim('9007199254740993'),
  new Verbatim('123456789012345678901234567890'),
  new Verbatim('9223372036854775807'),
  new Verbatim('9223372036854775808'),
  new Verbatim('-9223372036854775809'),
  1e300,
  new Verbatim('1E2'),
  new Verbatim('1e-7'),
  new Verbatim('0.0'),
];

const UNKNOWN_KEYS = ['x', '', ' ', '__proto__', 'constructor', 'prototype', 'toString', 'hasOwnProperty', '$ref', 'null', 'é', '😀', 'a'.repeat(300)];

const CONTENT_TYPES: Array<string | null> = [
  null,
  'text/plain',
  'application/xml',
  'application/x-www-form-urlencoded',
  'multipart/form-data; boundary=x',
  'application/octet-stream',
  'application/json; charset=latin1',
  'application/json; charset=utf-16',
  'application/json;charset="UTF-8"',
  'APPLICATION/JSON',
  'application/json, text/plain',
  'application/json; boundary=x',
  'application/jsonx',
  'text/json',
  'application/problem+json',
  'application/merge-patch+json',
  'application/*',
  '*/*',
  '',
  ';',
  'application/',
  'a'.repeat(300),
  'application/json; charset=utf-8; charset=latin1',
];

const CONTENT_ENCODINGS = ['gzip', 'deflate', 'br', 'identity', 'x-unknown', 'gzip, gzip', 'GZIP', ''];

/** Path segment values sent as they are: percent-encoding junk, dot segments, sizes around the name limit. */
const RAW_SEGMENTS: Text[] = [
  '',
  '.',
  '..',
  '%2e%2e',
  '%2E',
  '%2F',
  'a%2Fb',
  '%00',
  'a%00b',
  '%ZZ',
  '%',
  '%E0%A4%A',
  '%C3%28',
  '%FF',
  '%C0%AF',
  'a%20b',
  '%F0%9F%98%80',
  'a;b=c',
  'a:b',
  '*',
  "a'b",
  '<x>',
  'é',
  '😀',
  'a b',
  new Huge('a', 249),
  new Huge('a', 250),
  new Huge('a', 10_000),
  new Huge('a', 20_000),
];

/** Path segment values that are percent-encoded: odd but well-formed. */
const ENCODED_SEGMENTS = ['-x', '_x', '.x', 'x.', 'ORDERS', '__proto__', 'constructor', 'toString', 'hasOwnProperty', 'null', 'undefined', '0', 'a/b', '../orders', 'é', '😀', '\u0000', 'a b'];

const QUERY_VALUES: Text[] = [
  '',
  '-1',
  '0',
  '1.5',
  '1.0',
  '99999999999999999999',
  '9007199254740993',
  '1e309',
  '1e3',
  'NaN',
  'Infinity',
  '-Infinity',
  'null',
  'undefined',
  'true',
  ' 1',
  '1 ',
  '0x1f',
  '+1',
  '-0',
  '٣',
  '1,2',
  '１',
  'earliest ',
  'EARLIEST',
  'latest',
  new Huge('9', 400),
  new Huge('x', 5000),
];

const RAW_QUERY_VALUES = ['%ZZ', '%', '%00', '%FF', '😀', '1%261', 'a=b', '1&max=2'];

const UNKNOWN_QUERY: Array<[string, string]> = [
  ['foo', 'bar'],
  ['max[]', '1'],
  ['offset[a]', '1'],
  ['', ''],
  ['__proto__[x]', '1'],
  ['constructor', 'x'],
  ['a'.repeat(300), '1'],
];

const JUNK_HEADERS: Array<[string, Text]> = [
  ['SOAPAction', '"urn:x"'],
  ['Mqgate-Header-', 'x'],
  ['Mqgate-Header-a', new Huge('v', 9000)],
  ['Mqgate-Header-content-type', 'text/evil'],
  ['Accept', 'application/xml'],
  ['Accept-Charset', 'latin1'],
  ['X-HTTP-Method-Override', 'DELETE'],
  ['Range', 'bytes=0-1'],
  ['If-None-Match', '*'],
  ['Authorization', 'Bearer x'],
  ['Cookie', 'a=b'],
  ['X-Forwarded-For', '1.1.1.1'],
  ['Expect', '100-continue'],
  ['Expect', 'bogus'],
];

const CREDENTIAL_FORGERIES: CredentialForgery[] = ['narrow', 'truncated', 'otherSecret', 'unknownId', 'extraToken', 'noScheme', 'basic', 'empty'];

const OTHER_METHODS = ['PATCH', 'OPTIONS', 'HEAD', 'TRACE', 'PROPFIND', 'SEARCH', 'FOO'];

const CHUNK_FAULTS: ChunkFault[] = ['none', 'badSize', 'shortChunk', 'longChunk', 'noTerminator', 'badExtension', 'hugeSize', 'missingCrlf', 'negativeSize'];

/** One element of a list that may be long (a 10,001-item body has that many positions): no spread arguments. */
function elementOf<T>(items: T[]): fc.Arbitrary<T> {
  return fc.nat({ max: items.length - 1 }).map((i) => items[i]);
}

function jsonTreeOf(request: FuzzRequest): JsonTree | null {
  return request.body !== null && request.body.source.kind === 'json' ? request.body.source.tree : null;
}

function withTree(request: FuzzRequest, tree: JsonTree): FuzzRequest {
  const edits = request.body?.edits ?? [];
  return { ...request, body: { source: { kind: 'json', tree }, edits } };
}

function withBody(request: FuzzRequest, body: Body | null): FuzzRequest {
  return { ...request, body };
}

function withoutHeader(headers: HeaderPair[], name: string): HeaderPair[] {
  return headers.filter((h) => h.name.toLowerCase() !== name.toLowerCase());
}

function withHeader(request: FuzzRequest, name: string, value: Text): FuzzRequest {
  return { ...request, headers: [...withoutHeader(request.headers, name), { name, value }] };
}

/** Replaces the value at a random position of the JSON body with one from `values`. */
function replaceSomewhere(request: FuzzRequest, values: fc.Arbitrary<JsonTree>, where: (node: JsonTree) => boolean = () => true): fc.Arbitrary<FuzzRequest> | null {
  const tree = jsonTreeOf(request);
  if (tree === null) return null;
  const paths = treePaths(tree).filter((path) => where(nodeAt(tree, path)));
  if (paths.length === 0) return null;
  return fc.tuple(elementOf(paths), values).map(([path, value]) => withTree(request, replaceAt(tree, path, value) ?? null));
}

function hugeStrings(context: MutationContext): fc.Arbitrary<JsonTree> {
  const { maxMessageBytes, maxBatchBytes } = context.limits;
  return fc
    .tuple(fc.constantFrom('x', 'é', '😀', '\\', '"', '\u0000'), fc.constantFrom(256, 257, 4097, 8193, maxMessageBytes + 1, maxBatchBytes + 1))
    .map(([unit, count]) => new Huge(unit, count));
}

function invalidUtf8(): fc.Arbitrary<Uint8Array> {
  return fc.tuple(fc.string({ maxLength: 8 }), fc.constantFrom(...INVALID_UTF8)).map(([prefix, bad]) => Buffer.concat([Buffer.from(prefix), Buffer.from(bad)]));
}

/** Numbers at the edges of what JSON, JavaScript, SQLite and the spec's bounds hold. */
const EDGE_NUMBERS: JsonTree[] = [-1, 0, 1, 0.5, -0.5, 2 ** 31 - 1, 2 ** 31, 2 ** 32, 2 ** 53, 2 ** 63, 1e21, 1e300, Number.MAX_VALUE, Number.MIN_VALUE, new Verbatim('9223372036854775807'), new Verbatim('1e999'), new Verbatim('-0'), new Verbatim('1.0')];

const bodyMutations: Record<string, Mutation> = {
  wrongType: (r) => replaceSomewhere(r, fc.constantFrom(...WRONG_VALUES)),
  edgeNumber: (r) => replaceSomewhere(r, fc.constantFrom(...EDGE_NUMBERS), (n) => typeof n === 'number'),
  hugeString: (r, c) => replaceSomewhere(r, hugeStrings(c)),
  emptyString: (r) => replaceSomewhere(r, fc.constant(''), (n) => typeof n === 'string'),
  deepNesting: (r) => replaceSomewhere(r, fc.tuple(fc.constantFrom(100, 101, 1000, 10_000), fc.constantFrom<'array' | 'object'>('array', 'object')).map(([d, s]) => new Deep(d, s))),
  invalidUtf8String: (r) => replaceSomewhere(r, invalidUtf8().map((bytes) => new RawString(bytes))),
  nonObjectBody: (r) => {
    const tree = jsonTreeOf(r);
    return tree === null ? null : fc.constantFrom<JsonTree>(null, [], 'x', 1, true, [{}], [tree]).map((t) => withTree(r, t));
  },
  dropField: (r) => {
    const tree = jsonTreeOf(r);
    if (tree === null) return null;
    const fields = treePaths(tree).filter((path) => typeof path[path.length - 1] === 'string');
    return fields.length === 0 ? null : elementOf(fields).map((path) => withTree(r, replaceAt(tree, path, undefined) ?? null));
  },
  unknownField: (r) => {
    const tree = jsonTreeOf(r);
    if (tree === null) return null;
    const objects = treePaths(tree).filter((path) => isJsonObject(nodeAt(tree, path)));
    if (objects.length === 0) return null;
    const key = fc.oneof(fc.constantFrom(...UNKNOWN_KEYS), fc.string({ maxLength: 12 }));
    return fc.tuple(elementOf(objects), key, fc.constantFrom(...WRONG_VALUES)).map(([path, k, v]) => {
      const object = nodeAt(tree, path) as JsonObject;
      return withTree(r, replaceAt(tree, path, withProperty(object, k, v)) ?? null);
    });
  },
  bigArray: (r, c) => {
    const tree = jsonTreeOf(r);
    if (tree === null) return null;
    const arrays = treePaths(tree).filter((path) => Array.isArray(nodeAt(tree, path)));
    if (arrays.length === 0) return null;
    return fc.tuple(elementOf(arrays), fc.constantFrom(c.limits.maxBatchMessages + 1, 1001, 10_001)).map(([path, n]) => {
      const items = nodeAt(tree, path) as JsonTree[];
      const item = items[0] ?? 1;
      return withTree(r, replaceAt(tree, path, Array.from({ length: n }, () => item)) ?? null);
    });
  },
};

const byteMutations: Record<string, Mutation> = {
  truncateBody: (r) =>
    r.body === null ? null : fc.double({ min: 0, max: 0.99, noNaN: true }).map((fraction) => withBody(r, { ...(r.body as Body), edits: [...(r.body as Body).edits, { kind: 'truncate', fraction }] })),
  invalidUtf8Bytes: (r) =>
    r.body === null
      ? null
      : fc.tuple(fc.double({ min: 0, max: 1, noNaN: true }), fc.constantFrom(...INVALID_UTF8)).map(([fraction, bad]) =>
          withBody(r, { ...(r.body as Body), edits: [...(r.body as Body).edits, { kind: 'insert', fraction, bytes: Uint8Array.from(bad) }] }),
        ),
  randomBody: (r) => fc.uint8Array({ maxLength: 256 }).map((bytes) => withBody(r, { source: { kind: 'bytes', bytes }, edits: [] })),
  hugeBody: (r, c) =>
    fc
      .tuple(fc.constantFrom('x', '[', '{"messages":['), fc.constantFrom(c.limits.maxBatchBytes + 1, c.limits.maxBatchBytes * 2))
      .map(([unit, bytes]) => withBody(r, { source: { kind: 'repeat', unit, count: Math.ceil(bytes / unit.length) }, edits: [] })),
  dropBody: (r) => (r.body === null ? null : fc.constant(withBody(r, null))),
  addBody: (r) =>
    r.body !== null
      ? null
      : fc.constantFrom('{"a":1}', '[]', 'x').map((text) => withHeader(withBody(r, { source: { kind: 'bytes', bytes: Buffer.from(text) }, edits: [] }), 'Content-Type', 'application/json')),
  gzipBody: (r) => (r.body === null ? null : fc.constant(withHeader(withBody(r, { ...r.body, edits: [...r.body.edits, { kind: 'gzip' }] }), 'Content-Encoding', 'gzip'))),
  contentEncoding: (r) => fc.constantFrom(...CONTENT_ENCODINGS).map((value) => withHeader(r, 'Content-Encoding', value)),
};

const headerMutations: Record<string, Mutation> = {
  contentType: (r) =>
    fc.constantFrom(...CONTENT_TYPES).map((value) => (value === null ? { ...r, headers: withoutHeader(r.headers, 'Content-Type') } : withHeader(r, 'Content-Type', value))),
  idempotencyKey: (r) =>
    fc
      .constantFrom<Text>('', ' ', 'k', new Huge('k', 200), new Huge('k', 201), 'ké', '😀', 'a\u0001b', '%00')
      .map((value) => withHeader(r, 'Idempotency-Key', value)),
  duplicateHeader: (r) =>
    fc
      .tuple(fc.constantFrom('Content-Type', 'Idempotency-Key', 'Content-Encoding'), fc.constantFrom('text/plain', 'application/json', 'k-2', 'gzip'))
      .map(([name, value]) => ({ ...r, headers: [...r.headers, { name, value: r.headers.find((h) => h.name === name)?.value ?? 'k-1' }, { name, value }] })),
  junkHeader: (r) => fc.constantFrom(...JUNK_HEADERS).map(([name, value]) => ({ ...r, headers: [...r.headers, { name, value }] })),
  hugeHeader: (r) => fc.constant({ ...r, headers: [...r.headers, { name: 'X-Big', value: new Huge('a', 20_000) }] }),
  credentials: (r) =>
    fc.oneof<fc.Arbitrary<FuzzRequest>[]>(
      fc.constant({ ...r, headers: withoutHeader(r.headers, 'Authorization') }),
      fc.tuple(fc.nat(), fc.constantFrom(...CREDENTIAL_FORGERIES)).map(([pick, forgery]) => withHeader(r, 'Authorization', new LiveCredential(pick, forgery))),
      fc.constant({ ...r, headers: [...r.headers, { name: 'Authorization', value: new LiveCredential(0, 'narrow') }, { name: 'Authorization', value: new LiveCredential(0, 'none') }] }),
      fc.constantFrom<Text>(new Huge('a', 9000), 'Bearer 😀', 'Bearer mqg_', 'Bearer \u0000').map((value) => withHeader(r, 'Authorization', value)),
    ),
};

function segmentValues(context: MutationContext): fc.Arbitrary<{ value: Text; encode: boolean }> {
  return fc.oneof(
    fc.constantFrom(...RAW_SEGMENTS).map((value) => ({ value, encode: false })),
    fc.constantFrom(...ENCODED_SEGMENTS).map((value) => ({ value, encode: true })),
    fc.string({ unit: 'binary', maxLength: 20 }).map((value) => ({ value, encode: true })),
    fc.constantFrom(...context.fixtureNames).map((value) => ({ value, encode: true })),
  );
}

/** Reshapes the path: empty, dot and extra segments, a missing one, case and matrix parameters on literals. */
const pathShapes: Array<(segments: Segment[], at: number) => Segment[]> = [
  (s, at) => [...s.slice(0, at), { literal: '' }, ...s.slice(at)],
  (s) => [...s, { literal: '' }],
  (s) => [...s, { literal: 'x' }],
  (s, at) => (s.length > 1 ? [...s.slice(0, at), ...s.slice(at + 1)] : s),
  (s) => s.map((seg) => ('literal' in seg ? { literal: seg.literal.toUpperCase() } : seg)),
  (s, at) => [...s.slice(0, at), { literal: '..' }, ...s.slice(at)],
  (s, at) => [...s.slice(0, at), { literal: '.' }, ...s.slice(at)],
  (s) => s.map((seg, i) => (i === 0 && 'literal' in seg ? { literal: `${seg.literal};v=1` } : seg)),
  (s) => s.map((seg) => ('literal' in seg ? { literal: seg.literal.replace(/[a-z]$/, (ch) => `%${ch.charCodeAt(0).toString(16)}`) } : seg)),
];

const pathMutations: Record<string, Mutation> = {
  oddName: (r, c) => {
    const params = r.segments.flatMap((seg, i) => ('param' in seg ? [i] : []));
    const targets = params.length > 0 ? params : [r.segments.length - 1];
    return fc.tuple(fc.constantFrom(...targets), segmentValues(c)).map(([at, { value, encode }]) => {
      const old = r.segments[at];
      const segment: Segment = { param: 'param' in old ? old.param : 'literal', value, encode };
      return { ...r, segments: r.segments.map((seg, i) => (i === at ? segment : seg)) };
    });
  },
  pathShape: (r) =>
    fc.tuple(fc.integer({ min: 0, max: pathShapes.length - 1 }), fc.integer({ min: 1, max: Math.max(1, r.segments.length) })).map(([shape, at]) => ({
      ...r,
      segments: pathShapes[shape](r.segments, at),
    })),
  method: (r, c) => fc.constantFrom(...c.pathMethods.filter((m) => m !== r.method), ...OTHER_METHODS).map((method) => ({ ...r, method })),
};

function declaredQuery(context: MutationContext): string[] {
  return context.op.parameters.filter((p) => p.in === 'query').map((p) => p.name);
}

const queryMutations: Record<string, Mutation> = {
  queryJunk: (r, c) => {
    const names = declaredQuery(c);
    const value = fc.oneof(
      fc.constantFrom(...QUERY_VALUES).map((v): QueryPair => ({ name: '', value: v, encode: true })),
      fc.constantFrom(...RAW_QUERY_VALUES).map((v): QueryPair => ({ name: '', value: v, encode: false })),
    );
    return fc.tuple(fc.constantFrom(...(names.length > 0 ? names : ['max'])), value).map(([name, pair]) => ({
      ...r,
      query: [...r.query.filter((q) => q.name !== name), { ...pair, name }],
    }));
  },
  duplicateQuery: (r, c) => {
    const names = [...new Set([...r.query.map((q) => q.name), ...declaredQuery(c)])];
    if (names.length === 0) return null;
    return fc.tuple(fc.constantFrom(...names), fc.constantFrom<Text>('1', '2', 'earliest', '-1', '')).map(([name, value]) => ({
      ...r,
      query: [...r.query, { name, value: '0', encode: true }, { name, value, encode: true }],
    }));
  },
  unknownQuery: (r) => fc.constantFrom(...UNKNOWN_QUERY).map(([name, value]) => ({ ...r, query: [...r.query, { name, value, encode: name !== '' }] })),
};

/** The body a framing mutation cuts or re-frames: the request's own, or a small JSON one. */
function someBody(r: FuzzRequest): FuzzRequest {
  if (r.body !== null) return r;
  return withHeader(withBody(r, { source: { kind: 'bytes', bytes: Buffer.from('{"messages":[{"value":1}]}') }, edits: [] }), 'Content-Type', 'application/json');
}

const framingMutations: Record<string, Mutation> = {
  truncated: (r) =>
    fc
      .tuple(fc.constantFrom(1, 10, 1000, 1 << 20), fc.constantFrom<'end' | 'destroy'>('end', 'destroy'))
      .map(([missing, close]) => ({ ...someBody(r), framing: { kind: 'truncated', missing, close } })),
  shortLength: (r) => fc.integer({ min: 1, max: 64 }).map((by) => ({ ...someBody(r), framing: { kind: 'shortLength', by } })),
  chunked: (r) =>
    fc
      .tuple(fc.integer({ min: 1, max: 4 }), fc.oneof({ weight: 2, arbitrary: fc.constant<ChunkFault>('none') }, { weight: 5, arbitrary: fc.constantFrom(...CHUNK_FAULTS) }))
      .map(([pieces, fault]) => ({ ...someBody(r), framing: { kind: 'chunked', pieces, fault } })),
  lengthAndChunked: (r) => fc.constant({ ...someBody(r), framing: { kind: 'lengthAndChunked' } }),
  randomBytes: (r) => fc.uint8Array({ minLength: 1, maxLength: 256 }).map((bytes) => ({ ...r, framing: { kind: 'randomBytes', bytes } })),
  garbledHeaders: (r) => fc.uint8Array({ minLength: 1, maxLength: 64 }).map((bytes) => ({ ...r, framing: { kind: 'garbledHeaders', bytes } })),
  requestLine: (r) =>
    fc
      .record({ version: fc.constantFrom('1.1', '1.0', '0.9', '2.0', '1.2', '1.1 '), omitHost: fc.boolean(), lowercaseMethod: fc.boolean() })
      .map((line) => ({ ...r, framing: { kind: 'raw', ...line } })),
};

export const MUTATIONS: Record<string, Mutation> = {
  ...bodyMutations,
  ...byteMutations,
  ...headerMutations,
  ...pathMutations,
  ...queryMutations,
  ...framingMutations,
};

function applyMutation(name: string, request: FuzzRequest, context: MutationContext): fc.Arbitrary<FuzzRequest> {
  const mutated = MUTATIONS[name](request, context);
  return mutated === null ? fc.constant(request) : mutated.map((r) => ({ ...r, mutations: [...request.mutations, name] }));
}

/**
 * Framing mutations weigh less: node's HTTP parser refuses most of them before
 * the gateway sees anything, and the gateway's own code is what is fuzzed most.
 */
const mutationName = fc.oneof(
  { weight: 6, arbitrary: fc.constantFrom(...Object.keys({ ...bodyMutations, ...byteMutations, ...headerMutations, ...pathMutations, ...queryMutations })) },
  { weight: 1, arbitrary: fc.constantFrom(...Object.keys(framingMutations)) },
);

/** One to three mutations of a valid-shaped request, applied in turn. */
export function mutatedRequest(valid: fc.Arbitrary<FuzzRequest>, context: MutationContext): fc.Arbitrary<FuzzRequest> {
  return fc
    .tuple(valid, fc.array(mutationName, { minLength: 1, maxLength: 3 }))
    .chain(([request, chosen]) => chosen.reduce((acc, name) => acc.chain((r) => applyMutation(name, r, context)), fc.constant(request)));
}
