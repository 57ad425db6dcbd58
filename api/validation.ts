import { isUtf8 } from 'node:buffer';
import Ajv2020, { type ErrorObject, type ValidateFunction } from 'ajv/dist/2020';
import addFormats from 'ajv-formats';
import type { Request } from 'express';
import { type FieldError, GatewayError } from '../queue/errors';
import { type JsonSchema, LIMIT_KEYWORD, type Parameter, type Spec, type SpecOperation } from './spec';

const COMPONENTS_ID = 'mqgate:components';
const COMPONENT_REF = '#/components/schemas/';

/** Points `#/components/schemas/X` at the one registered copy of the components. */
function rewriteRefs(node: unknown): unknown {
  if (Array.isArray(node)) return node.map(rewriteRefs);
  if (node === null || typeof node !== 'object') return node;
  const out: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(node)) {
    out[key] =
      key === '$ref' && typeof value === 'string' && value.startsWith(COMPONENT_REF)
        ? `${COMPONENTS_ID}#/$defs/${value.slice(COMPONENT_REF.length)}`
        : rewriteRefs(value);
  }
  return out;
}

function fieldErrors(prefix: string, errors: ErrorObject[] | null | undefined): FieldError[] {
  return (errors ?? []).map((error) => {
    const params = error.params as { additionalProperty?: string; missingProperty?: string };
    const extra = params.additionalProperty ?? params.missingProperty;
    const pointer = `${prefix}${error.instancePath}${extra === undefined ? '' : `/${extra}`}`;
    const detail = params.additionalProperty !== undefined ? 'is not a known field' : (error.message ?? 'is invalid');
    return { pointer, detail };
  });
}

function describe(errors: FieldError[]): string {
  return errors
    .slice(0, 3)
    .map((e) => `${e.pointer} ${e.detail}`)
    .join('; ');
}

/** The path and query parameters of a valid request, coerced to their schema types, with defaults filled in. */
export interface ValidatedParameters {
  params: Record<string, unknown>;
  query: Record<string, unknown>;
}

/** Checks a request against its operation and fills body defaults in; throws the GatewayError a client should see. */
export type RequestValidator = (req: Request) => ValidatedParameters;

type Compile = (schema: JsonSchema) => ValidateFunction;

/**
 * A compiler for schemas that may `$ref` the spec's components; the components
 * are registered once. Used for requests here and for responses in the tests.
 * Parameters arrive as strings, so their compiler coerces (`"5"` → 5).
 */
export function createSchemaCompiler(spec: Spec, options: { coerceTypes?: boolean } = {}): Compile {
  const ajv = new Ajv2020({
    allErrors: true,
    strict: true,
    // `required` inside if/then (SeekRequest) names properties declared one level up.
    strictRequired: false,
    useDefaults: true,
    allowUnionTypes: true,
    coerceTypes: options.coerceTypes ?? false,
  });
  addFormats(ajv);
  // Marks a `maximum` that is a server limit (api/spec.ts sets it); nothing more to check.
  ajv.addKeyword(LIMIT_KEYWORD);
  ajv.addSchema({ $id: COMPONENTS_ID, $defs: rewriteRefs(spec.document.components.schemas) });
  return (schema) => ajv.compile(rewriteRefs(schema) as JsonSchema);
}

/** One object schema for all parameters of one location. */
function parametersSchema(parameters: Parameter[], key: (p: Parameter) => string): JsonSchema {
  return {
    type: 'object',
    properties: Object.fromEntries(parameters.map((p) => [key(p), p.schema])),
    required: parameters.filter((p) => p.required === true).map(key),
  };
}

/**
 * Compiles one validator per operation from openapi.yaml: path, query and
 * header parameters and the JSON body. No request schema exists anywhere
 * else. Defaults declared in the spec are filled in.
 */
export function compileValidators(spec: Spec): Map<string, RequestValidator> {
  const compileBody = createSchemaCompiler(spec);
  const compileParameters = createSchemaCompiler(spec, { coerceTypes: true });
  const validators = new Map<string, RequestValidator>();
  for (const op of spec.operations) {
    validators.set(op.operation.operationId, buildValidator(op, compileParameters, compileBody));
  }
  return validators;
}

function isName(parameter: Parameter): boolean {
  return parameter.schema.$ref === '#/components/schemas/Name';
}

/**
 * Coerced parameters that became numbers without bounds: ajv turns `1e400`
 * into Infinity and lets it past `integer`, `minimum` and `maximum` alike.
 */
function infinite(values: Record<string, unknown>, prefix: string): FieldError[] {
  const errors: FieldError[] = [];
  for (const [name, value] of Object.entries(values)) {
    if ((Array.isArray(value) ? value : [value]).some((item) => typeof item === 'number' && !Number.isFinite(item))) {
      errors.push({ pointer: `${prefix}/${name}`, detail: 'must be a finite number' });
    }
  }
  return errors;
}

function fail(code: 'invalid_name' | 'validation_failed', what: string, errors: FieldError[]): never {
  throw new GatewayError(code, `${what}: ${describe(errors)}.`, { errors });
}

/** Request headers a raw produce keeps as message headers, by this prefix (api/handlers.ts). */
export const MESSAGE_HEADER_PREFIX = 'mqgate-header-';
/** Other request headers whose values become message data. */
const DATA_HEADERS = new Set(['soapaction', 'mqgate-group']);

/**
 * A header's value as text: node reads header bytes as latin1, so a client's
 * UTF-8 (`é` as two bytes) is decoded here, as the client meant it. The
 * validator has already refused values that are not UTF-8.
 */
export function headerText(req: Request, name: string): string | undefined {
  const value = req.get(name);
  return value === undefined ? undefined : utf8Of(value);
}

/** A header value's bytes as the client sent them: node reads them as latin1. */
function headerBytes(value: string): Buffer {
  return Buffer.from(value, 'latin1');
}

/** A header value decoded as UTF-8. */
export function utf8Of(value: string): string {
  return headerBytes(value).toString('utf8');
}

/** Whether a query component's percent-escapes spell UTF-8 (a multi-byte character is always one run of escapes). */
function escapesUtf8(component: string): boolean {
  try {
    for (const run of component.match(/(?:%[0-9A-Fa-f]{2})+/g) ?? []) decodeURIComponent(run);
    return true;
  } catch {
    return false;
  }
}

/** What of a request an operation reads as text: its query parameters, and the headers that become message data. */
interface TextInputs {
  query: Set<string>;
  headers: (name: string) => boolean;
}

function textInputsOf(op: SpecOperation, at: (location: Parameter['in']) => Parameter[]): TextInputs {
  const declared = new Set(at('header').map((p) => p.name.toLowerCase()));
  // A raw produce (any content type) keeps chosen request headers as message headers (api/handlers.ts).
  const raw = '*/*' in (op.operation.requestBody?.content ?? {});
  return {
    query: new Set(at('query').map((p) => p.name)),
    headers: (name) => declared.has(name) || (raw && (DATA_HEADERS.has(name) || name.startsWith(MESSAGE_HEADER_PREFIX))),
  };
}

/**
 * Query parameters and headers the operation reads that are not UTF-8.
 * Decoding would turn them into U+FFFD silently (a message key with them
 * would be stored altered), so they are refused instead. What the operation
 * does not read is left alone, as any unknown parameter is.
 */
function notUtf8(req: Request, reads: TextInputs): FieldError[] {
  const errors: FieldError[] = [];
  const at = req.originalUrl.indexOf('?');
  const query = at === -1 ? '' : req.originalUrl.slice(at + 1).split('?', 1)[0];
  for (const component of query === '' ? [] : query.split('&')) {
    const [name] = component.split('=', 1);
    const decoded = escapesUtf8(name) ? decodeURIComponent(name.replace(/\+/g, ' ')) : name;
    if (reads.query.has(decoded) && !escapesUtf8(component)) errors.push({ pointer: `/query/${decoded}`, detail: 'is not valid UTF-8' });
  }
  for (const [name, value] of Object.entries(req.headers)) {
    if (reads.headers(name) && typeof value === 'string' && !isUtf8(headerBytes(value))) {
      errors.push({ pointer: `/headers/${name}`, detail: 'is not valid UTF-8' });
    }
  }
  return errors;
}

function buildValidator(op: SpecOperation, compileParameters: Compile, compileBody: Compile): RequestValidator {
  if (op.parameters.some((p) => p.in === 'cookie')) {
    throw new Error(`openapi.yaml: ${op.operation.operationId}: cookie parameters are not supported`);
  }
  const at = (location: Parameter['in']): Parameter[] => op.parameters.filter((p) => p.in === location);
  const names = new Set(at('path').filter(isName).map((p) => p.name));
  const path = compileParameters(parametersSchema(at('path'), (p) => p.name));
  const query = compileParameters(parametersSchema(at('query'), (p) => p.name));
  // Header names are case-insensitive; node gives them in lower case.
  const reads = textInputsOf(op, at);
  const headers = compileParameters(parametersSchema(at('header'), (p) => p.name.toLowerCase()));
  const bodySchema = op.operation.requestBody?.content['application/json']?.schema;
  const body = bodySchema === undefined ? null : compileBody(bodySchema);
  const bodyRequired = op.operation.requestBody?.required === true;

  return (req) => {
    // Copies: express recomputes req.query on every read, and coercion writes into the object.
    const params: Record<string, unknown> = { ...req.params };
    if (!path(params)) {
      const errors = fieldErrors('/path', path.errors);
      const aboutNames = errors.every((e) => names.has(e.pointer.split('/')[2] ?? ''));
      fail(aboutNames ? 'invalid_name' : 'validation_failed', 'Invalid path', errors);
    }
    const undecodable = notUtf8(req, reads);
    if (undecodable.length > 0) fail('validation_failed', 'Invalid encoding', undecodable);
    const queryValues: Record<string, unknown> = { ...(req.query as Record<string, unknown>) };
    if (!query(queryValues)) fail('validation_failed', 'Invalid query', fieldErrors('/query', query.errors));
    const unbounded = infinite(params, '/path').concat(infinite(queryValues, '/query'));
    if (unbounded.length > 0) fail('validation_failed', 'Invalid number', unbounded);
    if (!headers({ ...req.headers })) fail('validation_failed', 'Invalid header', fieldErrors('/headers', headers.errors));
    if (body !== null && !Buffer.isBuffer(req.body)) {
      if (req.body === undefined) {
        if (bodyRequired) fail('validation_failed', 'This operation needs a JSON body', [{ pointer: '/body', detail: 'is required' }]);
        req.body = {};
      }
      if (!body(req.body)) fail('validation_failed', 'The request body is invalid', fieldErrors('/body', body.errors));
    }
    return { params, query: queryValues };
  };
}
