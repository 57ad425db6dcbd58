import zlib from 'node:zlib';
import fc from 'fast-check';
import type { OpenApiDocument, Parameter, SpecOperation } from '../../api/spec';
import { Huge, jsonBytes, type JsonTree, LiveCredential, LiveGeneration, LiveName, LiveReceipt, type Resolver, resolveText, type Text } from './fuzzJson';
import type { SchemaArbitraries } from './fuzzSchema';

/**
 * A request as the generators build it: still structured (so mutations can
 * aim at one part), with live values unresolved. `wire()` turns it into
 * bytes when it is sent.
 */

export type Segment = { literal: string } | { param: string; value: Text; encode: boolean };

export interface QueryPair {
  name: string;
  value: Text;
  /** Percent-encode name and value; false sends them as they are (`%ZZ`, raw unicode). */
  encode: boolean;
}

export interface HeaderPair {
  name: string;
  value: Text;
}

export type BodySource = { kind: 'json'; tree: JsonTree } | { kind: 'bytes'; bytes: Uint8Array } | { kind: 'repeat'; unit: string; count: number };

/** Done to the body's bytes after serialization, in order. */
export type ByteEdit = { kind: 'truncate'; fraction: number } | { kind: 'insert'; fraction: number; bytes: Uint8Array } | { kind: 'gzip' };

export interface Body {
  source: BodySource;
  edits: ByteEdit[];
}

export type ChunkFault = 'none' | 'badSize' | 'shortChunk' | 'longChunk' | 'noTerminator' | 'badExtension' | 'hugeSize' | 'missingCrlf' | 'negativeSize';

/** How the request travels; everything but `http` goes over a raw socket, byte for byte. */
export type Framing =
  | { kind: 'http' }
  | { kind: 'raw'; version: string; omitHost: boolean; lowercaseMethod: boolean }
  | { kind: 'truncated'; missing: number; close: 'end' | 'destroy' }
  | { kind: 'shortLength'; by: number }
  | { kind: 'chunked'; pieces: number; fault: ChunkFault }
  | { kind: 'lengthAndChunked' }
  | { kind: 'randomBytes'; bytes: Uint8Array }
  | { kind: 'garbledHeaders'; bytes: Uint8Array };

export interface FuzzRequest {
  /** The operation the request was derived from (a mutation may send it elsewhere). */
  operationId: string;
  /** What was done to the valid-shaped request; empty for a valid-shaped one. */
  mutations: string[];
  method: string;
  segments: Segment[];
  query: QueryPair[];
  headers: HeaderPair[];
  body: Body | null;
  framing: Framing;
}

/** A request ready to send: everything resolved to text and bytes. */
export interface WireRequest {
  operationId: string;
  mutations: string[];
  method: string;
  /** The request target as sent; may hold characters an HTTP client library would refuse. */
  target: string;
  /** Path parameters as resolved, before encoding: what the request meant to name. */
  params: Record<string, string>;
  headers: Array<[string, string]>;
  body: Buffer | null;
  framing: Framing;
}

/** A path, query or header value from a generated value. */
export function asText(value: JsonTree): Text {
  if (typeof value === 'string' || typeof value === 'number') return value;
  if (value instanceof LiveName || value instanceof LiveReceipt || value instanceof LiveGeneration || value instanceof LiveCredential || value instanceof Huge) return value;
  return JSON.stringify(value);
}

function parameterValue(parameter: Parameter, schemas: SchemaArbitraries, location: 'path' | 'query' | 'header'): fc.Arbitrary<Text> {
  return schemas.value(parameter.schema, { property: parameter.name, location }).map(asText);
}

function segmentsArbitrary(op: SpecOperation, schemas: SchemaArbitraries): fc.Arbitrary<Segment[]> {
  const parts = op.path.split('/').slice(1).map((part): fc.Arbitrary<Segment> => {
    const param = /^\{(.+)\}$/.exec(part)?.[1];
    if (param === undefined) return fc.constant({ literal: part });
    const parameter = op.parameters.find((p) => p.in === 'path' && p.name === param) ?? { name: param, in: 'path', schema: { type: 'string' } };
    return parameterValue(parameter, schemas, 'path').map((value) => ({ param, value, encode: true }));
  });
  return fc.tuple(...parts);
}

/** Required parameters always, optional ones half of the time. */
function pairsArbitrary<P>(parameters: Parameter[], value: (p: Parameter) => fc.Arbitrary<Text>, pair: (name: string, value: Text) => P): fc.Arbitrary<P[]> {
  const each = parameters.map((p) => {
    const one = value(p).map((v) => [pair(p.name, v)]);
    return p.required === true ? one : fc.oneof(fc.constant([]), one);
  });
  return fc.tuple(...each).map((lists) => lists.flat());
}

const SOAP = `<?xml version="1.0"?><soap:Envelope xmlns:soap="http://schemas.xmlsoap.org/soap/envelope/"><soap:Body><Ping/></soap:Body></soap:Envelope>`;

/** A non-JSON body for operations that also take any content type: one raw message. */
function rawBodyArbitrary(): fc.Arbitrary<{ body: Body; headers: HeaderPair[] }> {
  const bytes = (b: Uint8Array | string): Body => ({ source: { kind: 'bytes', bytes: typeof b === 'string' ? Buffer.from(b, 'utf8') : b }, edits: [] });
  const extraHeaders = fc.array(
    fc.tuple(fc.stringMatching(/^[A-Za-z0-9-]{1,12}$/), fc.string({ maxLength: 16 })).map(([n, v]) => ({ name: `Mqgate-Header-${n}`, value: v })),
    { maxLength: 2 },
  );
  const shaped = fc.oneof(
    fc.constant({ body: bytes(SOAP), headers: [{ name: 'Content-Type', value: 'text/xml; charset=utf-8' }, { name: 'SOAPAction', value: '"urn:Ping"' }] }),
    fc.string({ unit: 'grapheme', maxLength: 64 }).map((s) => ({ body: bytes(s), headers: [{ name: 'Content-Type', value: 'text/plain; charset=utf-8' }] })),
    fc.uint8Array({ maxLength: 64 }).map((b) => ({ body: bytes(b), headers: [{ name: 'Content-Type', value: 'application/octet-stream' }] })),
    fc.jsonValue({ maxDepth: 2 }).map((v) => ({ body: bytes(JSON.stringify(v)), headers: [{ name: 'Content-Type', value: 'application/cloudevents+json' }] })),
  );
  return fc.tuple(shaped, extraHeaders).map(([{ body, headers }, extra]) => ({ body, headers: [...headers, ...extra] }));
}

/** The body an operation takes, as its requestBody says: JSON from its schema, any bytes where `*\/*` is listed, or none. */
function bodyArbitrary(op: SpecOperation, schemas: SchemaArbitraries): fc.Arbitrary<{ body: Body | null; headers: HeaderPair[] }> {
  const requestBody = op.operation.requestBody;
  if (requestBody === undefined) return fc.constant({ body: null, headers: [] });
  const options: Array<fc.Arbitrary<{ body: Body | null; headers: HeaderPair[] }>> = [];
  const jsonSchema = requestBody.content['application/json']?.schema;
  if (jsonSchema !== undefined) {
    options.push(
      schemas.value(jsonSchema, { property: null, location: 'body' }).map((tree) => ({
        body: { source: { kind: 'json' as const, tree }, edits: [] },
        headers: [{ name: 'Content-Type', value: 'application/json' }],
      })),
    );
  }
  if ('*/*' in requestBody.content) options.push(rawBodyArbitrary());
  if (requestBody.required !== true) options.push(fc.constant({ body: null, headers: [] }));
  return options.length === 0 ? fc.constant({ body: null, headers: [] }) : fc.oneof(...options);
}

/**
 * Whether the operation's security (its own, else the document's) names an
 * HTTP bearer scheme. An optional one (`[{}, {bearerAuth: []}]`) counts: a
 * valid key is welcome there too.
 */
export function takesBearer(op: SpecOperation, document: OpenApiDocument): boolean {
  const own = 'security' in op.operation ? op.operation.security : undefined;
  const requirements = own ?? ('security' in document ? document.security : undefined);
  const schemes = 'securitySchemes' in document.components ? document.components.securitySchemes : undefined;
  if (!Array.isArray(requirements) || typeof schemes !== 'object' || schemes === null) return false;
  const isBearer = (name: string): boolean => {
    const scheme: unknown = (schemes as Record<string, unknown>)[name];
    return typeof scheme === 'object' && scheme !== null && 'scheme' in scheme && String(scheme.scheme).toLowerCase() === 'bearer';
  };
  return requirements.some((requirement) => typeof requirement === 'object' && requirement !== null && Object.keys(requirement).some(isBearer));
}

/** The Authorization header a bearer-secured operation gets: mostly the key with every scope. */
function credentialArbitrary(bearer: boolean): fc.Arbitrary<HeaderPair[]> {
  if (!bearer) return fc.constant([]);
  const forgery = fc.oneof(
    { weight: 8, arbitrary: fc.constant('none' as const) },
    { weight: 1, arbitrary: fc.constant('narrow' as const) },
    { weight: 1, arbitrary: fc.constant('lowercaseScheme' as const) },
  );
  return fc.tuple(fc.nat(), forgery).map(([pick, f]) => [{ name: 'Authorization', value: new LiveCredential(pick, f) }]);
}

/** A request built from the operation's security, parameters and body schema: the shape the spec asks for. */
export function validRequest(op: SpecOperation, schemas: SchemaArbitraries, bearer: boolean): fc.Arbitrary<FuzzRequest> {
  const query = pairsArbitrary(op.parameters.filter((p) => p.in === 'query'), (p) => parameterValue(p, schemas, 'query'), (name, value) => ({ name, value, encode: true }));
  const parameters = pairsArbitrary(op.parameters.filter((p) => p.in === 'header'), (p) => parameterValue(p, schemas, 'header'), (name, value) => ({ name, value }));
  const headers = fc.tuple(credentialArbitrary(bearer), parameters).map(([credentials, others]) => [...credentials, ...others]);
  return fc.tuple(segmentsArbitrary(op, schemas), query, headers, bodyArbitrary(op, schemas)).map(([segments, q, h, b]) => ({
    operationId: op.operation.operationId,
    mutations: [],
    method: op.method.toUpperCase(),
    segments,
    query: q,
    headers: [...h, ...b.headers],
    body: b.body,
    framing: { kind: 'http' },
  }));
}

function encodeOrKeep(text: string, encode: boolean): string {
  if (!encode) return text;
  try {
    return encodeURIComponent(text);
  } catch {
    // A lone surrogate cannot be percent-encoded: it goes out as it is.
    return text;
  }
}

function applyEdit(bytes: Buffer, edit: ByteEdit): Buffer {
  switch (edit.kind) {
    case 'truncate':
      return bytes.subarray(0, Math.floor(bytes.length * edit.fraction));
    case 'insert': {
      const at = Math.floor(bytes.length * edit.fraction);
      return Buffer.concat([bytes.subarray(0, at), edit.bytes, bytes.subarray(at)]);
    }
    case 'gzip':
      return zlib.gzipSync(bytes);
  }
}

function bodyBytes(body: Body, resolver: Resolver): Buffer {
  const { source } = body;
  const raw =
    source.kind === 'json' ? jsonBytes(source.tree, resolver) : source.kind === 'bytes' ? Buffer.from(source.bytes) : Buffer.from(source.unit.repeat(source.count), 'utf8');
  return body.edits.reduce(applyEdit, raw);
}

/**
 * Resolves live values and writes the request out: path first (its names set
 * the scope later values are chosen in), then query, headers and body.
 */
export function wire(request: FuzzRequest, resolver: Resolver): WireRequest {
  const params: Record<string, string> = {};
  const path = request.segments
    .map((segment) => {
      if ('literal' in segment) return segment.literal;
      const text = resolveText(segment.value, resolver);
      params[segment.param] = text;
      return encodeOrKeep(text, segment.encode);
    })
    .join('/');
  const query = request.query.map((pair) => `${encodeOrKeep(pair.name, pair.encode)}=${encodeOrKeep(resolveText(pair.value, resolver), pair.encode)}`).join('&');
  const headers = request.headers.map((h): [string, string] => [h.name, resolveText(h.value, resolver)]);
  return {
    operationId: request.operationId,
    mutations: request.mutations,
    method: request.method,
    target: `/${path}${query === '' ? '' : `?${query}`}`,
    params,
    headers,
    body: request.body === null ? null : bodyBytes(request.body, resolver),
    framing: request.framing,
  };
}
