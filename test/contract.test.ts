import fs from 'node:fs';
import { toExpressPath } from '../api/app';
import { createHandlers } from '../api/handlers';
import { PROBLEMS } from '../api/problem';
import { loadSpec } from '../api/spec';
import { packagePath } from '../persistence/packagePath';
import { DEFAULT_LIMITS } from '../queue/limits';
import { expectSpecResponse } from './support/specResponses';
import { type TestGateway, testGateway } from './support/testGateway';

interface Layer {
  route?: { path: string; methods: Record<string, boolean> };
}

const spec = loadSpec();
let t: TestGateway;

beforeAll(() => {
  t = testGateway();
});

afterAll(async () => {
  await t.close();
  fs.rmSync(t.dataDir, { recursive: true, force: true });
});

test('the spec is OpenAPI 3.1 and every operation has a unique operationId', () => {
  expect(spec.document.openapi).toMatch(/^3\.1\./);
  const ids = spec.operations.map((op) => op.operation.operationId);
  expect(new Set(ids).size).toBe(ids.length);
});

test('express serves exactly the routes of openapi.yaml, no more and no fewer', () => {
  const stack = (t.app.router as unknown as { stack: Layer[] }).stack;
  const served = stack
    .filter((layer) => layer.route !== undefined)
    .flatMap((layer) =>
      Object.keys(layer.route?.methods ?? {})
        .filter((method) => method !== '_all')
        .map((method) => `${method.toUpperCase()} ${layer.route?.path}`),
    )
    .sort();
  const documented = spec.operations.map((op) => `${op.method.toUpperCase()} ${toExpressPath(op.path)}`).sort();
  expect(served).toEqual(documented);
});

test('every operation has a handler and every handler an operation', () => {
  const handlers = Object.keys(createHandlers({ ...t, spec, shutdown: new AbortController().signal, limits: DEFAULT_LIMITS, onInternalError: () => undefined })).sort();
  expect(handlers).toEqual(spec.operations.map((op) => op.operation.operationId).sort());
});

test('every error code has a status, and the spec lists exactly those codes', () => {
  const listed = (spec.document.components.schemas.ProblemCode as { enum: string[] }).enum;
  expect([...listed].sort()).toEqual(Object.keys(PROBLEMS).sort());
});

test('every documented error status of every operation is one the code table can produce', () => {
  const statuses = new Set(Object.values(PROBLEMS).map((p) => p.status));
  for (const op of spec.operations) {
    for (const status of Object.keys(op.operation.responses).map(Number)) {
      if (status >= 400) expect({ op: op.operation.operationId, status, known: statuses.has(status) }).toMatchObject({ known: true });
    }
  }
});

test('GET /openapi.yaml serves the contract file as it is', async () => {
  const res = await t.http.get('/openapi.yaml');
  expect(res.status).toBe(200);
  expect(res.headers['content-type']).toMatch(/^application\/yaml/);
  expect(res.text).toBe(fs.readFileSync(packagePath('openapi.yaml'), 'utf8'));
});

test('GET /healthz answers as documented', async () => {
  expectSpecResponse(await t.http.get('/healthz'), 'getHealth');
});

/** Every schema node a request can reach: parameters and JSON bodies, through their $refs. */
function requestSchemaNodes(): Array<{ at: string; node: Record<string, unknown> }> {
  const nodes: Array<{ at: string; node: Record<string, unknown> }> = [];
  const seen = new Set<string>();
  const walk = (value: unknown, at: string): void => {
    if (Array.isArray(value)) {
      value.forEach((item, i) => walk(item, `${at}/${i}`));
      return;
    }
    if (value === null || typeof value !== 'object') return;
    const node = value as Record<string, unknown>;
    nodes.push({ at, node });
    const ref = node.$ref;
    if (typeof ref === 'string' && !seen.has(ref)) {
      seen.add(ref);
      walk(spec.document.components.schemas[ref.replace('#/components/schemas/', '')], ref);
    }
    for (const [key, child] of Object.entries(node)) if (key !== '$ref') walk(child, `${at}/${key}`);
  };
  for (const op of spec.operations) {
    for (const parameter of op.parameters) walk(parameter.schema, `${op.operation.operationId} ${parameter.name}`);
    walk(op.operation.requestBody?.content['application/json']?.schema, `${op.operation.operationId} body`);
  }
  return nodes;
}

test('every integer a request may carry has a maximum the store can hold exactly (no 1e21 reaching SQLite)', () => {
  const unbounded = requestSchemaNodes()
    .filter(({ node }) => node.type === 'integer' || (Array.isArray(node.type) && node.type.includes('integer')))
    .filter(({ node }) => typeof node.maximum !== 'number' || node.maximum > Number.MAX_SAFE_INTEGER)
    .map(({ at }) => at);
  expect(unbounded).toEqual([]);
});
