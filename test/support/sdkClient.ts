import { execFile } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import ts from 'typescript';
import { packagePath } from '../../persistence/packagePath';

/**
 * A client project as a user of mqgate would write it: the types generated
 * from openapi.yaml (`mqgate.ts`), openapi-fetch, and a program that runs a
 * queue and a topic round trip with them. The program is kept as text because
 * it compiles only next to a generated `mqgate.ts`; sdk.test.ts type-checks
 * it, then runs it.
 */
export const SCHEMA_FILE = 'mqgate.ts';
const PROGRAM_FILE = 'roundTrip.ts';

const CLIENT_PROGRAM = `import createClient, { type Client } from 'openapi-fetch';
import type { components, paths } from './mqgate';

/** One call as the client saw it. */
export interface Step {
  status: number;
  data: unknown;
  error: unknown;
}

export interface RoundTrip {
  steps: Record<string, Step>;
  /** Values read through the generated types, each annotated with the type the program relies on. */
  seen: Record<string, unknown>;
}

type Answer<T> = { data?: T; error?: unknown; response: Response };

/** Records each call and hands back its typed body; a problem answer ends the round trip. */
function recorder(steps: Record<string, Step>) {
  return async <T>(operation: string, pending: Promise<Answer<T>>): Promise<T> => {
    const { data, error, response } = await pending;
    steps[operation] = { status: response.status, data, error };
    if (data === undefined) throw new Error(operation + ' answered ' + response.status + ': ' + JSON.stringify(error));
    return data;
  };
}

/** Create a queue, produce, fetch under a lease, ack, read the stats. */
export async function queueRoundTrip(baseUrl: string): Promise<RoundTrip> {
  const client = createClient<paths>({ baseUrl });
  const steps: Record<string, Step> = {};
  const call = recorder(steps);
  const orders = { params: { path: { queue: 'orders' } } };

  const created: components['schemas']['Queue'] = await call('putQueue', client.PUT('/v1/queues/{queue}', { ...orders, body: { visibilityTimeoutMs: 30000, maxDeliveries: null } }));
  const produced = await call('produceMessages', client.POST('/v1/queues/{queue}/messages', {
    ...orders,
    body: {
      messages: [
        { value: { order: 4711, total: 12.5 }, key: 'customer-7', headers: { source: 'shop' } },
        { value: 'hello', valueEncoding: 'text' },
      ],
    },
  }));
  const fetched = await call('fetchMessages', client.POST('/v1/queues/{queue}/fetch', { ...orders, body: { max: 10, waitMs: 1000 } }));
  const receipts: string[] = fetched.messages.map((message) => message.receipt);
  const acked = await call('ackMessages', client.POST('/v1/queues/{queue}/ack', { ...orders, body: { receipts } }));
  const queue = await call('getQueue', client.GET('/v1/queues/{queue}', orders));

  const visibilityTimeoutMs: number = created.visibilityTimeoutMs;
  const offsets: number[] = produced.messages.map((result) => result.offset);
  const duplicates: boolean[] = produced.messages.map((result) => result.duplicate);
  const deliveryCounts: number[] = fetched.messages.map((message) => message.deliveryCount);
  const encodings: ('json' | 'text' | 'base64')[] = fetched.messages.map((message) => message.valueEncoding);
  const keys: (string | null)[] = fetched.messages.map((message) => message.key);
  const statuses: ('acked' | 'nacked' | 'extended' | 'expired' | 'unknown')[] = acked.results.map((result) => result.status);
  const stats: { ready: number; inFlight: number; acked: number; produced: number; oldestReadyAgeMs: number | null } = queue.stats;
  return { steps, seen: { visibilityTimeoutMs, offsets, duplicates, deliveryCounts, encodings, keys, receipts: receipts.length, statuses, stats } };
}

/** Create a topic, produce, create a group from earliest, fetch, commit, describe the group. */
export async function topicRoundTrip(baseUrl: string): Promise<RoundTrip> {
  const client = createClient<paths>({ baseUrl });
  const steps: Record<string, Step> = {};
  const call = recorder(steps);
  const payments = { params: { path: { topic: 'payments' } } };
  const ledger = { params: { path: { topic: 'payments', group: 'ledger' } } };

  const topic = await call('putTopic', client.PUT('/v1/topics/{topic}', { ...payments, body: { partitions: 2, retentionMs: null } }));
  const produced = await call('produceToTopic', client.POST('/v1/topics/{topic}/messages', {
    ...payments,
    body: { messages: [{ partition: 0, value: { amount: 12 } }, { partition: 0, value: { amount: 30 } }, { partition: 1, key: 'customer-9', value: { amount: 5 } }] },
  }));
  await call('putGroup', client.PUT('/v1/topics/{topic}/groups/{group}', { ...ledger, body: { resetPolicy: 'earliest' } }));
  const fetched = await call('fetchGroup', client.POST('/v1/topics/{topic}/groups/{group}/fetch', { ...ledger, body: { max: 100 } }));
  const committed = await call('commitGroup', client.POST('/v1/topics/{topic}/groups/{group}/commit', { ...ledger, body: {} }));
  const group = await call('describeGroup', client.GET('/v1/topics/{topic}/groups/{group}', ledger));

  const partitions: number = topic.partitions;
  const placed: { partition: number; offset: number }[] = produced.messages.map(({ partition, offset }) => ({ partition, offset }));
  const read: { partition: number; offset: number; value: unknown }[] = fetched.messages.map(({ partition, offset, value }) => ({ partition, offset, value }));
  const commits: components['schemas']['PartitionOffset'][] = committed.offsets;
  const lag: { partition: number; committed: number | null; endOffset: number; lag: number }[] = group.partitions.map(
    ({ partition, committed, endOffset, lag }) => ({ partition, committed, endOffset, lag }),
  );
  return { steps, seen: { partitions, placed, read, commits, lag, resetPolicy: group.resetPolicy } };
}

/** Never called. Each line must be refused by the compiler: types that let these through are not precise enough to be useful. */
export function misuses(client: Client<paths>, queue: components['schemas']['Queue']): void {
  // @ts-expect-error: no such path
  void client.GET('/v1/queue/{queue}', { params: { path: { queue: 'orders' } } });
  // @ts-expect-error: the queue name is a required path parameter
  void client.GET('/v1/queues/{queue}', { params: { path: {} } });
  // @ts-expect-error: there is no PATCH of a queue
  void client.PATCH('/v1/queues/{queue}', { params: { path: { queue: 'orders' } } });
  // @ts-expect-error: visibilityTimeoutMs is a number of milliseconds
  void client.PUT('/v1/queues/{queue}', { params: { path: { queue: 'orders' } }, body: { visibilityTimeoutMs: '30s' } });
  // @ts-expect-error: a produce needs messages
  void client.POST('/v1/queues/{queue}/messages', { params: { path: { queue: 'orders' } }, body: { message: [{ value: 1 }] } });
  // @ts-expect-error: receipts are strings
  void client.POST('/v1/queues/{queue}/ack', { params: { path: { queue: 'orders' } }, body: { receipts: [1] } });
  // @ts-expect-error: resetPolicy is earliest or latest
  void client.PUT('/v1/topics/{topic}/groups/{group}', { params: { path: { topic: 'payments', group: 'ledger' } }, body: { resetPolicy: 'oldest' } });
  // @ts-expect-error: a stats count is a number
  const acked: string = queue.stats.acked;
  // @ts-expect-error: the dead-letter queue may be null
  const deadLetterQueue: string = queue.deadLetterQueue;
  void acked;
  void deadLetterQueue;
}
`;

/** As strict as a careful user's tsconfig, and then some. */
const COMPILER_OPTIONS: ts.CompilerOptions = {
  strict: true,
  noUncheckedIndexedAccess: true,
  exactOptionalPropertyTypes: true,
  noUnusedLocals: true,
  noUnusedParameters: true,
  target: ts.ScriptTarget.ES2022,
  lib: ['lib.es2022.d.ts'],
  module: ts.ModuleKind.CommonJS,
  moduleResolution: ts.ModuleResolutionKind.Node10,
  esModuleInterop: true,
  // fetch, Request and Response come from @types/node, as in this repository.
  types: ['node'],
  typeRoots: [packagePath('node_modules', '@types')],
  // Our own files (the generated one included) are checked; installed declaration files are theirs.
  skipLibCheck: true,
};

// Generation takes about a second; anything that waits for a network must fail instead.
const GENERATE_TIMEOUT_MS = 15_000;

/**
 * Generates the types of a spec into a client project with the
 * openapi-typescript CLI, as the README tells users to (its Node API needs
 * ESM-only packages, which jest does not load). Rejects with the CLI's output.
 */
export function generateTypes(spec: string, dir: string): Promise<void> {
  const cli = packagePath('node_modules', 'openapi-typescript', 'bin', 'cli.js');
  // A default makes a field optional to send. Without this flag, request bodies whose schemas are components
  // (ProduceMessage's valueEncoding, GroupFetchRequest's max) would demand every field that has a default.
  const args = [cli, spec, '--output', path.join(dir, SCHEMA_FILE), '--default-non-nullable', 'false'];
  return new Promise((resolve, reject) => {
    // Run in the project, so no redocly.yaml of this repository changes what is generated.
    execFile(process.execPath, args, { cwd: dir, timeout: GENERATE_TIMEOUT_MS, env: { ...process.env, NO_COLOR: '1' } }, (failure, stdout, stderr) => {
      if (failure === null) resolve();
      else reject(new Error(`openapi-typescript ${spec} failed: ${failure.message}\n${stdout}${stderr}`));
    });
  });
}

/** Writes the client program into a project that has its generated types; its node_modules is this repository's, as if openapi-fetch were installed there. */
export function writeClientProgram(dir: string): void {
  fs.writeFileSync(path.join(dir, PROGRAM_FILE), CLIENT_PROGRAM);
  if (!fs.existsSync(path.join(dir, 'node_modules'))) fs.symlinkSync(packagePath('node_modules'), path.join(dir, 'node_modules'), 'dir');
}

/**
 * Type-checks client projects, without output and in one compiler program
 * (checking is the slow part of this test). Per project, each diagnostic as
 * `roundTrip.ts(line,col): error TSnnnn: text`; none when its types fit.
 */
export function typeCheck(dirs: string[]): Map<string, string[]> {
  const program = ts.createProgram(
    dirs.map((dir) => path.join(dir, PROGRAM_FILE)),
    { ...COMPILER_OPTIONS, noEmit: true },
  );
  const found = new Map<string, string[]>(dirs.map((dir) => [dir, []]));
  for (const diagnostic of ts.getPreEmitDiagnostics(program)) {
    const file = diagnostic.file?.fileName ?? '';
    const owners = dirs.filter((dir) => file.startsWith(dir + path.sep));
    // A diagnostic of no project's file (an option, a library) counts against every project.
    for (const dir of owners.length > 0 ? owners : dirs) {
      const host: ts.FormatDiagnosticsHost = { getCanonicalFileName: (name) => name, getCurrentDirectory: () => dir, getNewLine: () => '\n' };
      found.get(dir)?.push(ts.formatDiagnostic(diagnostic, host).trim());
    }
  }
  return found;
}

/** What the program's round trips return (its own `RoundTrip`, which the type check holds it to). */
export interface RoundTrip {
  steps: Record<string, { status: number; data: unknown; error: unknown }>;
  seen: Record<string, unknown>;
}

export interface ClientProgram {
  queueRoundTrip(baseUrl: string): Promise<RoundTrip>;
  topicRoundTrip(baseUrl: string): Promise<RoundTrip>;
}

function isClientProgram(value: unknown): value is ClientProgram {
  if (typeof value !== 'object' || value === null) return false;
  const { queueRoundTrip, topicRoundTrip } = value as Record<string, unknown>;
  return typeof queueRoundTrip === 'function' && typeof topicRoundTrip === 'function';
}

/** Compiles the program to JavaScript beside it and loads it, with its own `require('openapi-fetch')`. */
export function loadClientProgram(dir: string): ClientProgram {
  const { outputText } = ts.transpileModule(CLIENT_PROGRAM, { compilerOptions: COMPILER_OPTIONS, fileName: PROGRAM_FILE });
  const file = path.join(dir, PROGRAM_FILE.replace(/\.ts$/, '.js'));
  fs.writeFileSync(file, outputText);
  const loaded: unknown = require(file);
  if (!isClientProgram(loaded)) throw new Error(`${file} does not export queueRoundTrip and topicRoundTrip`);
  return loaded;
}
