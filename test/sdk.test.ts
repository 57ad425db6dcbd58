import fs from 'node:fs';
import path from 'node:path';
import YAML from 'yaml';
import { loadConfig } from '../api/config';
import { createLogger } from '../api/logging';
import { type Gateway, startGateway } from '../api/server';
import { packagePath } from '../persistence/packagePath';
import { systemClock } from '../queue/clock';
import { storeFlags } from './support/childGateway';
import { type ClientProgram, generateTypes, loadClientProgram, SCHEMA_FILE, typeCheck, writeClientProgram } from './support/sdkClient';
import { tempDir } from './support/testGateway';

// A typed client generated from openapi.yaml (openapi-typescript) and used
// through openapi-fetch against a real gateway on a free port: the spec, the
// generated types and the server must agree.

/** The client project generated from openapi.yaml. */
let project: string;
/** The same, generated from a spec whose `ProduceResult.offset` is a string: the program must not compile against it. */
let drifted: string;
let diagnostics: Map<string, string[]>;
/** The project's program, compiled and loaded; it runs whatever the type check said, so the round trips report too. */
let program: ClientProgram;
let dataDir: string;
let gateway: Gateway;
/** Warnings the gateway logged and errors it hit; a test expects none. */
const failures: unknown[] = [];

/** The spec with `ProduceResult.offset` declared a string. */
function withStringOffsets(spec: unknown): unknown {
  const copy = structuredClone(spec) as { components?: { schemas?: { ProduceResult?: { properties?: Record<string, unknown> } } } };
  const properties = copy.components?.schemas?.ProduceResult?.properties;
  if (properties === undefined) throw new Error('openapi.yaml has no ProduceResult schema with properties');
  properties.offset = { type: 'string' };
  return copy;
}

// About 8 s on an idle machine: two generator runs and one type check of both projects.
// The hook's time limit leaves room for a loaded one.
beforeAll(async () => {
  project = tempDir('mqgate-sdk-');
  drifted = tempDir('mqgate-sdk-drifted-');
  const driftedSpec = path.join(drifted, 'openapi.yaml');
  fs.writeFileSync(driftedSpec, YAML.stringify(withStringOffsets(YAML.parse(fs.readFileSync(packagePath('openapi.yaml'), 'utf8')))));
  await Promise.all([generateTypes(packagePath('openapi.yaml'), project), generateTypes(driftedSpec, drifted)]);
  writeClientProgram(project);
  writeClientProgram(drifted);
  diagnostics = typeCheck([project, drifted]);
  program = loadClientProgram(project);

  dataDir = tempDir();
  const config = loadConfig(['--port', '0', ...(await storeFlags(dataDir)), '--log-level', 'warn'], {});
  gateway = await startGateway(config, {
    clock: systemClock,
    logger: createLogger('warn', { write: (line: string) => failures.push(line) }),
    onInternalError: (error) => failures.push(error),
    onBackgroundError: (error) => failures.push(error),
  });
}, 60_000);

afterAll(async () => {
  await gateway?.close();
  for (const dir of [project, drifted, dataDir]) if (dir !== undefined) fs.rmSync(dir, { recursive: true, force: true });
});

afterEach(() => {
  expect(failures).toEqual([]);
});

/** Each call of a round trip: no problem answer, and the status it answered. */
function statuses(steps: Record<string, { status: number; error: unknown }>): Record<string, number> {
  for (const [operation, step] of Object.entries(steps)) expect({ operation, error: step.error }).toEqual({ operation, error: undefined });
  return Object.fromEntries(Object.entries(steps).map(([operation, step]) => [operation, step.status]));
}

test('the types generated from openapi.yaml type-check a strict client program, and refuse its misuses', () => {
  expect(fs.readFileSync(path.join(project, SCHEMA_FILE), 'utf8')).toContain('"/v1/queues/{queue}/fetch": {');
  // Misuses are marked @ts-expect-error in the program: types too loose to refuse them fail here as "Unused directive".
  expect(diagnostics.get(project)).toEqual([]);
});

test('a spec whose types no longer fit the client program fails the type check', () => {
  expect(diagnostics.get(drifted)?.join('\n')).toMatch(/roundTrip\.ts\(\d+,\d+\): error TS2322: Type 'string\[\]' is not assignable to type 'number\[\]'/);
});

test('queue round trip through the SDK: create, produce, fetch, ack, stats show it acked', async () => {
  const { steps, seen } = await program.queueRoundTrip(gateway.url);
  expect(statuses(steps)).toEqual({ putQueue: 201, produceMessages: 201, fetchMessages: 200, ackMessages: 200, getQueue: 200 });
  expect(steps.fetchMessages?.data).toMatchObject({
    messages: [
      { offset: 0, key: 'customer-7', headers: { source: 'shop' }, contentType: 'application/json', value: { order: 4711, total: 12.5 }, valueEncoding: 'json', deliveryCount: 1 },
      { offset: 1, key: null, headers: {}, value: 'hello', valueEncoding: 'text', deliveryCount: 1 },
    ],
  });
  expect(seen).toEqual({
    visibilityTimeoutMs: 30000,
    offsets: [0, 1],
    duplicates: [false, false],
    deliveryCounts: [1, 1],
    encodings: ['json', 'text'],
    keys: ['customer-7', null],
    receipts: 2,
    statuses: ['acked', 'acked'],
    stats: expect.objectContaining({ ready: 0, inFlight: 0, acked: 2, produced: 2, oldestReadyAgeMs: null }),
  });
});

test('topic round trip through the SDK: create, produce, group from earliest, fetch, commit, describe shows the commit and lag 0', async () => {
  const { steps, seen } = await program.topicRoundTrip(gateway.url);
  expect(statuses(steps)).toEqual({ putTopic: 201, produceToTopic: 201, putGroup: 201, fetchGroup: 200, commitGroup: 200, describeGroup: 200 });
  expect(seen).toEqual({
    partitions: 2,
    placed: [
      { partition: 0, offset: 0 },
      { partition: 0, offset: 1 },
      { partition: 1, offset: 0 },
    ],
    read: expect.arrayContaining([
      { partition: 0, offset: 0, value: { amount: 12 } },
      { partition: 0, offset: 1, value: { amount: 30 } },
      { partition: 1, offset: 0, value: { amount: 5 } },
    ]),
    commits: [
      { partition: 0, offset: 2 },
      { partition: 1, offset: 1 },
    ],
    lag: [
      { partition: 0, committed: 2, endOffset: 2, lag: 0 },
      { partition: 1, committed: 1, endOffset: 1, lag: 0 },
    ],
    resetPolicy: 'earliest',
  });
  expect(seen.read).toHaveLength(3);
});
