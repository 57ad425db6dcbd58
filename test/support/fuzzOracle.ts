import type { ValidateFunction } from 'ajv/dist/2020';
import type { JsonSchema, Spec, SpecOperation } from '../../api/spec';
import { createSchemaCompiler } from '../../api/validation';
import type { WireRequest } from './fuzzRequests';
import type { ParsedResponse } from './fuzzTransport';

/**
 * What every answer must be, all of it read from openapi.yaml: a status the
 * operation documents, an error as problem+json with a code of the
 * ProblemCode enum and the status that code is documented with, a success
 * body of the documented schema, and no internals in any text a client reads.
 */

export interface Finding {
  kind: string;
  detail: string;
  /** What the finding is about: the operation's own logic, or how the request was framed (the default). */
  about?: 'operation';
}

export interface RouteMatch {
  op: SpecOperation;
  /** Path parameters, percent-decoded (null where they do not decode). */
  params: Record<string, string | null>;
}

interface ResponseObject {
  $ref?: string;
  content?: Record<string, { schema?: JsonSchema }>;
}

/** Text that means internals leaked: driver errors, stack frames, file system paths, JS error names. */
const LEAKS: RegExp[] = [
  /sqlite/i,
  /better-sqlite3/i,
  /\bat (?:\S+ )?\(?(?:\/|node:|file:)[^)\s]*:\d+:\d+/,
  /node:internal|node_modules/,
  /(?:^|[\s'"(])\/(?:work|tmp|home|usr|var|opt|root)\//,
  /\b(?:TypeError|RangeError|ReferenceError|SyntaxError|EvalError)\b/,
  /call stack/i,
  /\[object Object\]/,
];

/** A SOAP envelope (text/xml or application/soap+xml), or a SOAP caller's 202 without a body. */
function isSoapAnswer(response: ParsedResponse): boolean {
  const contentType = response.headers['content-type'];
  return contentType === undefined ? response.status === 202 : /^(text\/xml|application\/soap\+xml)/.test(contentType);
}

function decode(segment: string): string | null {
  try {
    return decodeURIComponent(segment);
  } catch {
    return null;
  }
}

export class Oracle {
  /** Every code of the ProblemCode enum. */
  readonly problemCodes: Set<string>;
  /** The status each code is documented with (`- \`queue_not_found\` (404)` in the enum's description). */
  readonly codeStatus: Map<string, number>;
  private readonly validateProblem: ValidateFunction;
  private readonly compile: (schema: JsonSchema) => ValidateFunction;
  private readonly responseSchemas = new Map<string, { type: string; validate: ValidateFunction } | null>();

  constructor(private readonly spec: Spec) {
    const problemCode = spec.document.components.schemas.ProblemCode as { enum?: unknown; description?: unknown };
    this.problemCodes = new Set(Array.isArray(problemCode.enum) ? problemCode.enum.filter((c): c is string => typeof c === 'string') : []);
    const described = typeof problemCode.description === 'string' ? problemCode.description : '';
    this.codeStatus = new Map([...described.matchAll(/`(\w+)` \((\d{3})\)/g)].map((m) => [m[1], Number(m[2])]));
    this.compile = createSchemaCompiler(spec);
    this.validateProblem = this.compile({ $ref: '#/components/schemas/Problem' });
  }

  /** The operation express routes a request to: literal segments case-insensitive, one optional trailing slash. */
  match(method: string, target: string): RouteMatch | null {
    const verb = method.toUpperCase() === 'HEAD' ? 'get' : method.toLowerCase();
    let path = target.split('?')[0];
    if (path.length > 1 && path.endsWith('/')) path = path.slice(0, -1);
    const segments = path.split('/');
    for (const op of this.spec.operations) {
      if (op.method !== verb) continue;
      const template = op.path.split('/');
      if (template.length !== segments.length) continue;
      const params: Record<string, string | null> = {};
      const fits = template.every((part, i) => {
        const param = /^\{(.+)\}$/.exec(part)?.[1];
        if (param === undefined) return part.toLowerCase() === segments[i].toLowerCase();
        params[param] = decode(segments[i]);
        return segments[i] !== '';
      });
      if (fits) return { op, params };
    }
    return null;
  }

  /** Everything wrong with one response to `request`, routed to `route` (null: no operation). */
  check(request: WireRequest, route: RouteMatch | null, response: ParsedResponse): Finding[] {
    const { method, target } = request;
    const soapResponses = route?.op.operation['x-mqgate-soap-responses'];
    if (soapResponses !== undefined && isSoapAnswer(response) && String(response.status) in soapResponses) return this.checkSoap(target, response);
    const findings: Finding[] = [];
    const { status } = response;
    // An error without any content type is node's own answer (a malformed request, or bytes past one): no route's.
    if (status >= 400 && response.headers['content-type'] === undefined) {
      const body = response.body.length === 0 ? 'no body' : `body ${preview(response.body, 100)}`;
      return [{ kind: `bare ${status} without application/problem+json`, detail: `no content type, ${body}: node's own answer, not the gateway's problem+json` }];
    }
    // The answer is in every example already: these details stay empty.
    if (status >= 500 && !this.storedAnyway(response)) findings.push({ kind: `${status} server error`, detail: '', about: 'operation' });
    else if (route !== null && !this.documents(route.op, status)) {
      findings.push({ kind: `status ${status} not documented for ${route.op.operation.operationId}`, detail: `documented: ${Object.keys(route.op.operation.responses).join(', ')}`, about: 'operation' });
    }
    if (status >= 400) findings.push(...(route !== null && this.answersSqs(route.op, status) ? this.checkSqsError(method, target, response) : this.checkProblem(method, target, response)));
    if (status === 422 && route !== null) findings.push(...this.checkBlame(request, route, response));
    else if (status >= 200 && status < 300 && route !== null && method.toUpperCase() !== 'HEAD') findings.push(...this.checkSuccess(route.op, response));
    return findings;
  }

  /** Whether the spec documents this error of the operation as SQS's JSON (the SQS face), not problem+json. */
  private answersSqs(op: SpecOperation, status: number): boolean {
    return this.responseSchema(op, status)?.type === SQS_CONTENT_TYPE;
  }

  /**
   * An error of the SQS face: SQS's JSON (`__type`, `message`) with the
   * `x-amzn-query-error` header the AWS SDK names the error by. Only the HTTP
   * layer's refusal of a body it could not read, before the operation runs,
   * may be problem+json.
   */
  private checkSqsError(method: string, target: string, response: ParsedResponse): Finding[] {
    const { status } = response;
    const contentType = response.headers['content-type'] ?? '';
    if (contentType.startsWith('text/xml')) return checkSqsXmlError(target, response);
    if (!contentType.startsWith(SQS_CONTENT_TYPE)) {
      const findings = this.checkProblem(method, target, response);
      const code = parseObject(response.body)?.code;
      if (findings.length === 0 && !UNREAD_BODY_CODES.has(String(code))) {
        findings.push({ kind: `SQS ${status} ${String(code)} as problem+json`, detail: preview(response.body), about: 'operation' });
      }
      return findings;
    }
    const findings: Finding[] = [];
    const error = parseObject(response.body);
    if (error === null || typeof error.__type !== 'string' || typeof error.message !== 'string') {
      findings.push({ kind: `SQS ${status} without __type and message`, detail: preview(response.body), about: 'operation' });
    }
    const queryError = response.headers['x-amzn-query-error'] ?? '';
    if (!/^[\w.]+;(Sender|Receiver)$/.test(queryError)) {
      findings.push({ kind: `SQS ${status} without x-amzn-query-error`, detail: JSON.stringify(queryError), about: 'operation' });
    }
    const leak = leakIn(error === null ? [] : [String(error.message)], target);
    if (leak !== null) findings.push({ kind: `SQS ${status} leaks internals`, detail: leak });
    return findings;
  }

  /**
   * A failure that reports a change it made: `reply_timeout`, whose request
   * was stored and stays queued (as problem+json, or a SOAP fault).
   */
  storedAnyway(response: ParsedResponse): boolean {
    const text = response.body.toString('utf8');
    return response.status === 504 ? parseObject(response.body)?.code === 'reply_timeout' : text.includes('<mq:code>reply_timeout</mq:code>');
  }

  /**
   * An answer to a SOAP caller (api/soap.ts), of a status the operation's
   * x-mqgate-soap-responses documents: a 202 without a body; a fault whose
   * mq:problem carries a ProblemCode with its documented status, never
   * internal_error, and no internals.
   */
  private checkSoap(target: string, response: ParsedResponse): Finding[] {
    const { status } = response;
    const text = response.body.toString('utf8');
    if (status === 202) return response.body.length === 0 ? [] : [{ kind: 'SOAP 202 with a body', detail: preview(response.body), about: 'operation' }];
    if (status !== 500) return [];
    const problem = /<mq:code>(\w+)<\/mq:code><mq:status>(\d{3})<\/mq:status>/.exec(text);
    if (problem === null) return [{ kind: 'SOAP fault without mq:problem', detail: preview(response.body), about: 'operation' }];
    const [, code, problemStatus] = problem;
    const findings: Finding[] = [];
    if (code === 'internal_error') findings.push({ kind: 'SOAP fault internal_error', detail: '', about: 'operation' });
    if (!this.problemCodes.has(code)) findings.push({ kind: `SOAP fault code ${code} is not in ProblemCode`, detail: preview(response.body) });
    const expected = this.codeStatus.get(code);
    if (expected !== undefined && expected !== Number(problemStatus)) findings.push({ kind: `SOAP fault ${code} with status ${problemStatus}, documented ${expected}`, detail: preview(response.body) });
    const leak = leakIn([text], target);
    if (leak !== null) findings.push({ kind: `SOAP fault ${code} leaks internals`, detail: leak });
    return findings;
  }

  private documents(op: SpecOperation, status: number): boolean {
    return String(status) in op.operation.responses || 'default' in op.operation.responses;
  }

  private checkProblem(method: string, target: string, response: ParsedResponse): Finding[] {
    const { status } = response;
    const contentType = response.headers['content-type'] ?? '';
    if (!/^application\/problem\+json\b/.test(contentType)) {
      return [{ kind: `${status} without application/problem+json`, detail: `content-type ${JSON.stringify(contentType)}, body ${preview(response.body)}` }];
    }
    // A HEAD answer has the problem's headers and no body.
    if (method.toUpperCase() === 'HEAD') return [];
    let problem: unknown;
    try {
      problem = JSON.parse(response.body.toString('utf8'));
    } catch {
      return [{ kind: `${status} problem body is not JSON`, detail: preview(response.body) }];
    }
    if (typeof problem !== 'object' || problem === null || Array.isArray(problem)) return [{ kind: `${status} problem is not an object`, detail: preview(response.body) }];
    const fields = problem as Record<string, unknown>;
    const findings: Finding[] = [];
    const code = String(fields.code);
    if (!this.validateProblem(problem)) findings.push({ kind: `${status} problem breaks the Problem schema`, detail: `${JSON.stringify(this.validateProblem.errors)} in ${preview(response.body)}` });
    for (const field of ['type', 'title', 'detail', 'code']) {
      if (typeof fields[field] !== 'string') findings.push({ kind: `${status} problem without a string ${field}`, detail: preview(response.body) });
    }
    if (fields.status !== status) findings.push({ kind: `problem status ${String(fields.status)} on a ${status}`, detail: preview(response.body) });
    if (!this.problemCodes.has(code)) findings.push({ kind: `${status} code ${code} is not in ProblemCode`, detail: preview(response.body) });
    const documented = this.codeStatus.get(code);
    if (documented !== undefined && documented !== status) findings.push({ kind: `${code} answered ${status}, documented ${documented}`, detail: preview(response.body) });
    if (fields.type !== `urn:mqgate:problem:${code}`) findings.push({ kind: `${status} problem type is not urn:mqgate:problem:${code}`, detail: preview(response.body) });
    if ('stack' in fields) findings.push({ kind: `${status} problem carries a stack`, detail: preview(response.body) });
    const leak = leakIn(clientTexts(fields), target);
    if (leak !== null) findings.push({ kind: `${status} ${code} leaks internals`, detail: leak });
    return findings;
  }

  /**
   * A field error must point at something the request sent, or at a field
   * the spec requires: a parameter or body field the client left out takes
   * the spec's default, and a default that the server refuses is its bug.
   */
  private checkBlame(request: WireRequest, route: RouteMatch, response: ParsedResponse): Finding[] {
    let errors: unknown;
    try {
      errors = (JSON.parse(response.body.toString('utf8')) as { errors?: unknown }).errors;
    } catch {
      return [];
    }
    if (!Array.isArray(errors)) return [];
    const findings: Finding[] = [];
    for (const error of errors as Array<{ pointer?: unknown; detail?: unknown }>) {
      const [, where, name, ...deeper] = String(error.pointer).split('/');
      // A missing field the schema requires (also conditionally, `if`/`then`) is rightly blamed.
      const missingRequired = /required property/.test(String(error.detail)) || this.required(route.op, where, name);
      if (name === undefined || deeper.length > 0 || missingRequired || this.sent(request, where, name) !== false) continue;
      findings.push({ kind: `422 blames ${where} field ${name}, which the request left out`, detail: `${String(error.pointer)}: ${String(error.detail)}`, about: 'operation' });
    }
    return findings;
  }

  /** Whether the request had a query parameter, header or top-level body field; null when that cannot be told. */
  private sent(request: WireRequest, where: string, name: string): boolean | null {
    if (where === 'query') return new URLSearchParams(request.target.split('?')[1] ?? '').has(name);
    if (where === 'headers') return request.headers.some(([n]) => n.toLowerCase() === name.toLowerCase());
    if (where !== 'body' || request.body === null) return null;
    try {
      const body: unknown = JSON.parse(request.body.toString('utf8'));
      return typeof body === 'object' && body !== null && !Array.isArray(body) ? name in body : null;
    } catch {
      return null;
    }
  }

  private required(op: SpecOperation, where: string, name: string): boolean {
    if (where !== 'body') return op.parameters.some((p) => p.name.toLowerCase() === name.toLowerCase() && p.required === true);
    let schema = op.operation.requestBody?.content['application/json']?.schema ?? {};
    if (typeof schema.$ref === 'string') schema = this.spec.document.components.schemas[schema.$ref.replace('#/components/schemas/', '')] ?? {};
    return Array.isArray(schema.required) && schema.required.includes(name);
  }

  private checkSuccess(op: SpecOperation, response: ParsedResponse): Finding[] {
    const documented = this.responseSchema(op, response.status);
    if (documented === null) return [];
    const contentType = response.headers['content-type'] ?? '';
    if (!contentType.includes(documented.type)) {
      return [{ kind: `${op.operation.operationId} ${response.status} is ${contentType}, documented ${documented.type}`, detail: preview(response.body), about: 'operation' }];
    }
    if (!documented.type.endsWith('json')) return [];
    let body: unknown;
    try {
      body = JSON.parse(response.body.toString('utf8'));
    } catch {
      return [{ kind: `${op.operation.operationId} ${response.status} body is not JSON`, detail: preview(response.body), about: 'operation' }];
    }
    return documented.validate(body)
      ? []
      : [{ about: 'operation', kind: `${op.operation.operationId} ${response.status} breaks its schema`, detail: `${JSON.stringify(documented.validate.errors?.slice(0, 3))} in ${preview(response.body)}` }];
  }

  private responseSchema(op: SpecOperation, status: number): { type: string; validate: ValidateFunction } | null {
    const key = `${op.operation.operationId} ${status}`;
    if (!this.responseSchemas.has(key)) {
      let response = op.operation.responses[String(status)] as ResponseObject | undefined;
      if (response?.$ref !== undefined) response = this.spec.document.components.responses?.[response.$ref.replace('#/components/responses/', '')] as ResponseObject | undefined;
      const [entry] = Object.entries(response?.content ?? {});
      this.responseSchemas.set(key, entry?.[1].schema === undefined ? null : { type: entry[0], validate: this.compile(entry[1].schema) });
    }
    return this.responseSchemas.get(key) ?? null;
  }
}

const SQS_CONTENT_TYPE = 'application/x-amz-json-1.0';
const SQS_XML_ERROR =
  /^<\?xml version="1.0"\?><ErrorResponse xmlns="http:\/\/queue.amazonaws.com\/doc\/2012-11-05\/"><Error><Type>(Sender|Receiver)<\/Type><Code>([\w.]+)<\/Code><Message>([^<]*)<\/Message><Detail\/><\/Error><RequestId>[^<]+<\/RequestId><\/ErrorResponse>$/;

/**
 * An error of the SQS face in the query protocol (a request that was no JSON
 * 1.0 call): SQS's XML ErrorResponse, whose Code the SDKs raise by, a
 * Receiver's only for a server error.
 */
function checkSqsXmlError(target: string, response: ParsedResponse): Finding[] {
  const { status } = response;
  const match = SQS_XML_ERROR.exec(response.body.toString('utf8'));
  if (match === null) return [{ kind: `SQS ${status} XML error not an ErrorResponse`, detail: preview(response.body), about: 'operation' }];
  const [, type, , message] = match;
  const findings: Finding[] = [];
  if ((type === 'Receiver') !== status >= 500) findings.push({ kind: `SQS ${status} XML error of type ${type}`, detail: preview(response.body), about: 'operation' });
  const leak = leakIn([message], target);
  if (leak !== null) findings.push({ kind: `SQS ${status} leaks internals`, detail: leak });
  return findings;
}
/**
 * Problems the HTTP layer answers before any operation runs: a body that
 * cannot be read or is not of an accepted type, and a path that is not
 * valid percent-encoding (which no SQS client sends: they use the QueueUrl
 * the gateway gave them).
 */
const UNREAD_BODY_CODES = new Set(['bad_request', 'payload_too_large', 'unsupported_media_type', 'request_timeout', 'expectation_failed', 'invalid_name']);

function parseObject(body: Buffer): Record<string, unknown> | null {
  try {
    const parsed: unknown = JSON.parse(body.toString('utf8'));
    return typeof parsed === 'object' && parsed !== null && !Array.isArray(parsed) ? (parsed as Record<string, unknown>) : null;
  } catch {
    return null;
  }
}

/** The texts of a problem a person reads: title, detail and each field error's detail. */
function clientTexts(fields: Record<string, unknown>): string[] {
  const texts = [fields.title, fields.detail];
  if (Array.isArray(fields.errors)) for (const error of fields.errors) texts.push((error as { detail?: unknown }).detail);
  return texts.filter((t): t is string => typeof t === 'string');
}

/**
 * A leak in `texts`, ignoring what the request itself put there: a detail may
 * quote the path, and quotes names and values in single quotes.
 */
function leakIn(texts: string[], target: string): string | null {
  const echoes = [target, decode(target) ?? target, target.split('?')[0]].sort((a, b) => b.length - a.length);
  for (const text of texts) {
    const own = echoes.reduce((t, echo) => t.split(echo).join(''), text).replace(/'[^']*'/g, "''");
    const pattern = LEAKS.find((p) => p.test(own));
    if (pattern !== undefined) return `${pattern} in ${JSON.stringify(text.slice(0, 300))}`;
  }
  return null;
}

export function preview(body: Buffer, max = 300): string {
  const text = body.subarray(0, max).toString('utf8');
  return JSON.stringify(body.length > max ? `${text}…(${body.length} bytes)` : text);
}
