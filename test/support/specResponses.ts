import type { ValidateFunction } from 'ajv/dist/2020';
import type { Response } from 'supertest';
import { loadSpec, type JsonSchema } from '../../api/spec';
import { createSchemaCompiler } from '../../api/validation';

const spec = loadSpec();
const compile = createSchemaCompiler(spec);
const cache = new Map<string, ValidateFunction | null>();

interface ResponseObject {
  $ref?: string;
  content?: Record<string, { schema?: JsonSchema }>;
}

/** The documented content of a response: of the response's own content type where several are documented (SOAP or JSON), else the first. */
function responseSchema(operationId: string, status: number, contentType: string): { type: string; validate: ValidateFunction } | null {
  const op = spec.operations.find((o) => o.operation.operationId === operationId);
  if (op === undefined) throw new Error(`no operation ${operationId} in openapi.yaml`);
  // A SOAP caller's answers (XML, or a 202 without a body) are the operation's x-mqgate-soap-responses, where it has one for the status.
  const soap = /^(text\/xml|application\/soap\+xml)/.test(contentType) || (status === 202 && contentType === '');
  const soapResponse = soap ? op.operation['x-mqgate-soap-responses']?.[String(status)] : undefined;
  let response = (soapResponse ?? op.operation.responses[String(status)]) as ResponseObject | undefined;
  if (response === undefined) throw new Error(`${operationId} does not document status ${status}`);
  if (response.$ref !== undefined) {
    const [section, name] = response.$ref.replace('#/components/', '').split('/') as ['responses' | 'x-mqgate-soap-responses', string];
    response = spec.document.components[section]?.[name] as ResponseObject | undefined;
  }
  const entries = Object.entries(response?.content ?? {});
  const entry = entries.find(([type]) => contentType.startsWith(type)) ?? entries[0];
  if (entry === undefined) return null;
  const [type, { schema }] = entry;
  const key = `${operationId} ${status} ${type}`;
  if (!cache.has(key)) cache.set(key, schema === undefined ? null : compile(schema));
  const validate = cache.get(key);
  return validate === null || validate === undefined ? null : { type, validate };
}

/** Fails unless the response's status, content type and body are what openapi.yaml documents. */
export function expectSpecResponse(res: Response, operationId: string): void {
  const documented = responseSchema(operationId, res.status, String(res.headers['content-type'] ?? ''));
  if (documented === null) return;
  if (documented.type !== '*/*') expect(res.headers['content-type']).toContain(documented.type);
  if (documented.type.endsWith('json')) return validateBody(documented.validate, operationId, res.status, res.body);
  // A text body (metrics, pages, the spec) is checked as its text; a binary one (an image) is bytes, as `string` documents.
  if (res.text === undefined) expect(Buffer.isBuffer(res.body)).toBe(true);
  else validateBody(documented.validate, operationId, res.status, res.text);
}

function validateBody(validate: ValidateFunction, operationId: string, status: number, body: unknown): void {
  const valid = validate(body);
  if (!valid) throw new Error(`${operationId} ${status} breaks the spec: ${JSON.stringify(validate.errors)}`);
}

/** Awaits a request and checks its response against openapi.yaml before handing it back. */
export async function call(operationId: string, pending: PromiseLike<Response>): Promise<Response> {
  const res = await pending;
  expectSpecResponse(res, operationId);
  return res;
}

/** How long `until` waits for its condition before the test fails. */
const UNTIL_MS = 10_000;

/** Lets the event loop turn until `condition` holds: no timers, so the manual clock stays where it is. */
export async function until(condition: () => boolean): Promise<void> {
  // Bounded by time, not by turns: under load (a slow fsync, a busy second core) a long-poll takes thousands of turns to start.
  const deadline = Date.now() + UNTIL_MS;
  while (!condition() && Date.now() < deadline) await new Promise((resolve) => setImmediate(resolve));
  expect(condition()).toBe(true);
}
