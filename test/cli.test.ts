import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { generateKey } from '../api/keys';
import { type CliOptions, killCliProcesses, runCli, runCliOnTerminal, spawnCli } from './support/cliProcess';
import { type LoggedGateway, startLoggedGateway } from './support/loggedGateway';
import { tempDir } from './support/testGateway';

let gateway: LoggedGateway;
let on: CliOptions;
let files: string;

beforeAll(async () => {
  gateway = await startLoggedGateway();
  on = { url: gateway.url };
  files = tempDir('mqgate-cli-files-');
});
afterEach(() => {
  killCliProcesses();
  expect(gateway.errors).toEqual([]);
});
afterAll(async () => {
  await gateway.close();
  fs.rmSync(files, { recursive: true, force: true });
});

/** A call to the gateway's HTTP API, to set up and check what the CLI did. */
async function http<T>(method: string, route: string, body?: unknown): Promise<{ status: number; body: T }> {
  const response = await fetch(`${gateway.url}${route}`, {
    method,
    headers: body === undefined ? {} : { 'content-type': 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await response.text();
  return { status: response.status, body: (text === '' ? undefined : JSON.parse(text)) as T };
}

interface Stats {
  ready: number;
  inFlight: number;
  produced: number;
  acked: number;
}

async function stats(queue: string): Promise<Stats> {
  return (await http<{ stats: Stats }>('GET', `/v1/queues/${queue}`)).body.stats;
}

interface Leased {
  value: unknown;
  valueEncoding: string;
  receipt: string;
  deliveryCount: number;
}

async function fetchAll(queue: string): Promise<Leased[]> {
  return (await http<{ messages: Leased[] }>('POST', `/v1/queues/${queue}/fetch`, { max: 1000 })).body.messages;
}

async function produceTo(topic: string, messages: object[]): Promise<void> {
  expect((await http('POST', `/v1/topics/${topic}/messages`, { messages })).status).toBe(201);
}

const lines = (text: string): string[] => text.split('\n').filter((line) => line !== '');

test('queues create, ls, get and rm manage queues, and topics alike', async () => {
  const [dlq, topic] = await Promise.all([
    runCli(['queues', 'create', 'orders-dlq'], on),
    runCli(['topics', 'create', 'events', '--partitions', '3', '--retention-ms', 'none'], on),
  ]);
  expect(dlq).toMatchObject({ code: 0, stdout: 'created queue orders-dlq\n', stderr: '' });
  expect(topic).toMatchObject({ code: 0, stdout: 'created topic events\n', stderr: '' });
  const settings = ['--visibility-timeout-ms', '60000', '--max-deliveries', '3', '--dead-letter-queue', 'orders-dlq'];
  expect(await runCli(['queues', 'create', 'orders', ...settings], on)).toMatchObject({ code: 0, stdout: 'created queue orders\n' });
  expect(await runCli(['queues', 'create', 'orders', ...settings], on)).toMatchObject({ code: 0, stdout: 'updated queue orders\n' });
  expect((await http('GET', '/v1/queues/orders')).body).toMatchObject({
    visibilityTimeoutMs: 60000,
    maxDeliveries: 3,
    deadLetterQueue: 'orders-dlq',
  });
  expect((await http('GET', '/v1/topics/events')).body).toMatchObject({ partitions: 3, retentionMs: null });
  await produceTo('events', [{ value: 1 }, { value: 2 }]);

  const [queues, queuesJson, queue, topics] = await Promise.all([
    runCli(['queues', 'ls'], on),
    runCli(['queues', 'ls', '--json'], on),
    runCli(['queues', 'get', 'orders'], on),
    runCli(['topics', 'ls'], on),
  ]);
  expect(queues).toMatchObject({ code: 0, stderr: '' });
  const rows = lines(queues.stdout).map((line) => line.split(/\s+/));
  expect(rows[0]).toEqual(['NAME', 'READY', 'IN_FLIGHT', 'DELAYED', 'PRODUCED', 'ACKED', 'DEAD_LETTERED', 'DEAD_LETTER_QUEUE']);
  expect(rows).toContainEqual(['orders', '0', '0', '0', '0', '0', '0', 'orders-dlq']);
  expect(JSON.parse(queuesJson.stdout)).toEqual({
    queues: [expect.objectContaining({ name: 'orders' }), expect.objectContaining({ name: 'orders-dlq' })],
  });
  expect(JSON.parse(queue.stdout)).toMatchObject({ name: 'orders', visibilityTimeoutMs: 60000, stats: { ready: 0 } });
  expect(lines(topics.stdout).map((line) => line.split(/\s+/))).toEqual([
    ['NAME', 'PARTITIONS', 'MESSAGES', 'BYTES', 'RETENTION_MS'],
    ['events', '3', '2', '2', 'forever'],
  ]);

  const [queueRemoved, topicRemoved] = await Promise.all([runCli(['queues', 'rm', 'orders'], on), runCli(['topics', 'rm', 'events'], on)]);
  expect(queueRemoved).toMatchObject({ code: 0, stdout: 'deleted queue orders\n' });
  expect(topicRemoved).toMatchObject({ code: 0, stdout: 'deleted topic events\n' });
  expect((await http('GET', '/v1/queues/orders')).status).toBe(404);
  expect((await http('GET', '/v1/topics/events')).status).toBe(404);
});

test('produce sends -m arguments, a file and stdin lines, as text or JSON, in batches', async () => {
  await Promise.all(['args', 'file', 'stdin', 'json', 'json-bad'].map((queue) => http('PUT', `/v1/queues/${queue}`)));
  await http('PUT', '/v1/topics/keyed', { partitions: 4 });

  const file = path.join(files, 'lines.txt');
  fs.writeFileSync(file, Array.from({ length: 2345 }, (_, i) => `line-${i + 1}\n`).join(''));
  const before = gateway.answered('produceMessages');
  // Not a terminal: no progress bar, stderr stays empty.
  expect(await runCli(['produce', 'file', '--file', file], on)).toEqual({
    code: 0,
    signal: null,
    stdout: 'produced 2345 messages to queue file\n',
    stderr: '',
  });
  // Batches of up to 1000 (the first may be smaller: it goes as soon as a line is read).
  expect(gateway.answered('produceMessages') - before).toBeLessThanOrEqual(4);
  expect(await stats('file')).toMatchObject({ ready: 2345, produced: 2345 });
  expect((await fetchAll('file')).map((m) => m.value)).toEqual(Array.from({ length: 1000 }, (_, i) => `line-${i + 1}`));

  const [args, stdin, json, notJson, keyed] = await Promise.all([
    runCli(['produce', 'args', '-m', 'one', '-m', 'two'], on),
    runCli(['produce', 'stdin'], { ...on, stdin: 'a\r\nb\n\nc' }),
    runCli(['produce', 'json', '--json'], { ...on, stdin: '{"n": 1}\n[2, "x"]\n"three"\n' }),
    runCli(['produce', 'json-bad', '--json', '-m', '{"n": 1}', '-m', 'nope', '-m', '3'], on),
    runCli(['produce', 'keyed', '--topic', '--key', 'customer-7', '--header', 'source=cli', '-m', 'hello'], on),
  ]);
  expect(args).toMatchObject({ code: 0, stdout: 'produced 2 messages to queue args\n', stderr: '' });
  expect(stdin).toMatchObject({ code: 0, stdout: 'produced 3 messages to queue stdin\n', stderr: '' });
  expect(json).toMatchObject({ code: 0, stdout: 'produced 3 messages to queue json\n', stderr: '' });
  expect(keyed).toMatchObject({ code: 0, stdout: 'produced 1 message to topic keyed\n', stderr: '' });
  expect(notJson).toMatchObject({ code: 1, stdout: '' });
  // A stream goes as it is read: what came before the bad line is stored, and the error says so.
  expect(notJson.stderr).toMatch(/^error: invalid_json: message 2 is not JSON \(.+\); drop --json to send it as text /);
  expect(notJson.stderr).toMatch(/ \(1 message stored before this\)\n$/);

  const values = async (queue: string): Promise<{ value: unknown; valueEncoding: string }[]> =>
    (await fetchAll(queue)).map(({ value, valueEncoding }) => ({ value, valueEncoding }));
  expect(await values('args')).toEqual([
    { value: 'one', valueEncoding: 'text' },
    { value: 'two', valueEncoding: 'text' },
  ]);
  expect((await values('stdin')).map((m) => m.value)).toEqual(['a', 'b', 'c']);
  expect(await values('json-bad')).toEqual([{ value: { n: 1 }, valueEncoding: 'json' }]);
  expect(await values('json')).toEqual([
    { value: { n: 1 }, valueEncoding: 'json' },
    { value: [2, 'x'], valueEncoding: 'json' },
    { value: 'three', valueEncoding: 'json' },
  ]);
  const partitions = await Promise.all(
    [0, 1, 2, 3].map(async (p) => (await http<{ messages: object[] }>('GET', `/v1/topics/keyed/partitions/${p}/messages`)).body.messages),
  );
  expect(partitions.flat()).toEqual([expect.objectContaining({ key: 'customer-7', headers: { source: 'cli' }, value: 'hello' })]);
});

test('on a terminal produce draws a progress bar on stderr, unless --no-progress', async () => {
  await http('PUT', '/v1/queues/watched');
  const file = path.join(files, 'watched.txt');
  fs.writeFileSync(file, Array.from({ length: 3000 }, (_, i) => `${i}\n`).join(''));
  const produce = ['produce', 'watched', '--file', file, '--batch-size', '1000'];
  const [drawn, quiet] = await Promise.all([runCliOnTerminal(produce, on), runCliOnTerminal([...produce, '--no-progress'], on)]);
  expect(drawn).toMatchObject({ code: 0, stdout: expect.stringContaining('100% | 3000 messages') });
  expect(drawn.stdout).toMatch(/produced 3000 messages to queue watched\r\n$/);
  expect(quiet).toMatchObject({ code: 0, stdout: 'produced 3000 messages to queue watched\r\n' });
  expect(await stats('watched')).toMatchObject({ produced: 6000 });
});

test('fetch prints leased messages as JSON lines with receipts; ack settles them and the queue is empty', async () => {
  await http('PUT', '/v1/queues/work');
  await http('POST', '/v1/queues/work/messages', { messages: [{ value: { order: 1 } }, { value: 'two', valueEncoding: 'text' }] });

  const fetched = await runCli(['fetch', 'work', '--max', '5'], on);
  expect(fetched).toMatchObject({ code: 0, stderr: '' });
  const messages = lines(fetched.stdout).map((line) => JSON.parse(line) as Leased);
  expect(messages).toEqual([
    expect.objectContaining({ value: { order: 1 }, valueEncoding: 'json', deliveryCount: 1, receipt: expect.any(String) }),
    expect.objectContaining({ value: 'two', valueEncoding: 'text', deliveryCount: 1, receipt: expect.any(String) }),
  ]);
  expect(await stats('work')).toMatchObject({ ready: 0, inFlight: 2 });

  const receipts = messages.map((m) => m.receipt);
  expect(await runCli(['ack', 'work', '--', ...receipts], on)).toMatchObject({
    code: 0,
    stdout: `${receipts[0]} acked\n${receipts[1]} acked\n`,
    stderr: '',
  });
  expect(await stats('work')).toMatchObject({ ready: 0, inFlight: 0, acked: 2 });

  const [again, empty] = await Promise.all([runCli(['ack', 'work', '--', receipts[0]], on), runCli(['fetch', 'work'], on)]);
  expect(again.code).toBe(1);
  expect(again.stdout).toMatch(new RegExp(`^${receipts[0]} (expired|unknown)\n$`));
  expect(again.stderr).toMatch(/^error: receipt_(expired|unknown): 1 of 1 receipts were not acked\n$/);
  expect(empty).toMatchObject({ code: 0, stdout: '', stderr: '' });  // A receipt can begin with "-" (base64url): after --, it is a receipt, not an option.
  const dashed = await runCli(['ack', 'work', '--', `-${receipts[0].slice(1)}`], on);
  expect(dashed.stdout).toBe(`-${receipts[0].slice(1)} unknown\n`);
});

test('a missing queue is "error: queue_not_found: ..." with exit code 1; an unreachable gateway is one line too', async () => {
  // A port that was free a moment ago: nothing listens there.
  const port = await new Promise<number>((resolve) => {
    const server = net.createServer().listen(0, '127.0.0.1', () => {
      const { port: free } = server.address() as net.AddressInfo;
      server.close(() => resolve(free));
    });
  });
  const [fetched, produced, removed, unreachable, badUrl] = await Promise.all([
    runCli(['fetch', 'nope'], on),
    runCli(['produce', 'nope', '-m', 'x'], on),
    runCli(['queues', 'rm', 'nope'], on),
    runCli(['queues', 'ls', '--url', `http://127.0.0.1:${port}`], on),
    runCli(['queues', 'ls'], { url: 'localhost:8080' }),
  ]);
  for (const missing of [fetched, produced, removed]) {
    expect(missing).toMatchObject({ code: 1, stdout: '', stderr: "error: queue_not_found: Queue 'nope' does not exist.\n" });
  }
  expect(unreachable).toMatchObject({
    code: 1,
    stdout: '',
    stderr: `error: unreachable: cannot reach the gateway at http://127.0.0.1:${port}: connect ECONNREFUSED 127.0.0.1:${port}\n`,
  });
  expect(badUrl).toMatchObject({ code: 1, stderr: expect.stringMatching(/^error: invalid_url: 'localhost:8080' is not an http/) });
});

const ORDER = {
  type: 'object',
  additionalProperties: false,
  required: ['id'],
  properties: { id: { type: 'integer' }, note: { type: 'string', maxLength: 20 } },
};

/** A JSON file in the test's directory. */
function jsonFile(name: string, value: unknown): string {
  const file = path.join(files, name);
  fs.writeFileSync(file, JSON.stringify(value));
  return file;
}

test('schema put registers versions with their settings; get prints the latest or one version as JSON', async () => {
  await Promise.all([http('PUT', '/v1/queues/described'), http('PUT', '/v1/topics/described-t')]);
  const put = (kind: string, name: string, file: string): Promise<unknown> => runCli(['schema', 'put', kind, name, '--file', file], on);
  const v1 = jsonFile('order-v1.json', ORDER);
  const [queue, topic] = await Promise.all([put('queue', 'described', v1), put('topic', 'described-t', v1)]);
  expect(queue).toMatchObject({ code: 0, stdout: 'registered version 1 of the schema of queue described\n', stderr: '' });
  expect(topic).toMatchObject({ code: 0, stdout: 'registered version 1 of the schema of topic described-t\n', stderr: '' });
  expect(await put('queue', 'described', v1)).toMatchObject({
    code: 0,
    stdout: 'unchanged: version 1 of the schema of queue described is this schema already\n',
  });
  // An optional property added to the closed model: backward compatible. From stdin, with settings.
  const v2 = { ...ORDER, properties: { ...ORDER.properties, total: { type: 'number' } } };
  const settings = ['--compatibility', 'backward_transitive', '--allow-raw-bodies'];
  expect(await runCli(['schema', 'put', 'queue', 'described', ...settings], { ...on, stdin: JSON.stringify(v2) })).toMatchObject({
    code: 0,
    stdout: 'registered version 2 of the schema of queue described\n',
    stderr: '',
  });

  const [latest, first, topicLatest] = await Promise.all([
    runCli(['schema', 'get', 'queue', 'described'], on),
    runCli(['schema', 'get', 'queue', 'described', '--version', '1'], on),
    runCli(['schema', 'get', 'topic', 'described-t'], on),
  ]);
  expect(latest).toMatchObject({ code: 0, stderr: '' });
  expect(JSON.parse(latest.stdout)).toEqual({
    version: 2,
    schema: v2,
    fingerprint: expect.stringMatching(/^[0-9a-f]{64}$/),
    createdAt: expect.any(Number),
    compatibility: 'backward_transitive',
    allowRawBodies: true,
    versions: 2,
  });
  expect(JSON.parse(latest.stdout)).toEqual((await http('GET', '/v1/queues/described/schema')).body);
  expect(JSON.parse(first.stdout)).toEqual((await http('GET', '/v1/queues/described/schema/versions/1')).body);
  expect(JSON.parse(first.stdout)).toMatchObject({ version: 1, schema: ORDER });
  expect(JSON.parse(topicLatest.stdout)).toMatchObject({ version: 1, schema: ORDER, compatibility: 'backward', versions: 1 });
  // --no-allow-raw-bodies turns the setting off again; left out, it is kept.
  expect(await runCli(['schema', 'put', 'queue', 'described', '--file', jsonFile('order-v2.json', v2), '--no-allow-raw-bodies'], on)).toMatchObject({ code: 0 });
  expect((await http('GET', '/v1/queues/described/schema')).body).toMatchObject({ version: 2, allowRawBodies: false, compatibility: 'backward_transitive' });
});

test('schema put of an incompatible schema exits 1 with the problem and a line per reason; nothing is registered', async () => {
  await http('PUT', '/v1/queues/strict');
  expect((await http('PUT', '/v1/queues/strict/schema', { schema: ORDER })).status).toBe(201);
  const narrowed = { ...ORDER, required: ['id', 'note'], properties: { ...ORDER.properties, note: { type: 'string', maxLength: 10 } } };
  const refused = await runCli(['schema', 'put', 'queue', 'strict', '--file', jsonFile('narrowed.json', narrowed)], on);
  expect(refused).toMatchObject({ code: 1, stdout: '' });
  const [problem, ...reasons] = lines(refused.stderr);
  expect(problem).toMatch(/^error: schema_incompatible: The schema is not backward compatible with the versions of queue 'strict': /);
  expect(reasons.sort()).toEqual([
    expect.stringMatching(/^  \/note: bound_tightened, against version 1: \S/),
    expect.stringMatching(/^  \/note: required_added, against version 1: \S/),
  ]);
  // A mode the gateway does not know: its validation_failed, naming the field.
  const unknownMode = await runCli(['schema', 'put', 'queue', 'strict', '--file', jsonFile('order.json', ORDER), '--compatibility', 'sideways'], on);
  expect(unknownMode).toMatchObject({ code: 1, stdout: '' });
  expect(lines(unknownMode.stderr)).toEqual([expect.stringMatching(/^error: validation_failed: /), expect.stringMatching(/^  \/body\/compatibility: \S/)]);
  expect((await http('GET', '/v1/queues/strict/schema')).body).toMatchObject({ version: 1, versions: 1, compatibility: 'backward' });
});

test('schema check validates a message value without producing it: exit 0 when it passes, 1 naming the path when not', async () => {
  await http('PUT', '/v1/queues/checked');
  expect((await http('PUT', '/v1/queues/checked/schema', { schema: ORDER })).status).toBe(201);
  const longer = { ...ORDER, properties: { ...ORDER.properties, note: { type: 'string', maxLength: 40 } } };
  expect((await http('PUT', '/v1/queues/checked/schema', { schema: longer })).status).toBe(201);
  const check = (args: string[], stdin?: string): Promise<{ code: number | null; stdout: string; stderr: string }> =>
    runCli(['schema', 'check', 'queue', 'checked', ...args], { ...on, stdin });
  const note = 'x'.repeat(30);

  const [fromFile, fromStdin, dash, invalid, pinned, notJson, unknownVersion] = await Promise.all([
    check(['--file', jsonFile('valid-order.json', { id: 1, note })]),
    check([], JSON.stringify({ id: 2 })),
    check(['--file', '-'], '{"id": 3}'),
    check([], JSON.stringify({ id: 'x' })),
    check(['--version', '1', '--file', jsonFile('long-note.json', { id: 4, note })]),
    check([], '{"id": '),
    check(['--version', '9'], '{"id": 5}'),
  ]);
  for (const passed of [fromFile, fromStdin, dash]) {
    expect(passed).toMatchObject({ code: 0, stdout: 'valid against version 2 of the schema of queue checked\n', stderr: '' });
  }
  expect(invalid).toMatchObject({
    code: 1,
    stdout: '',
    stderr: "error: schema_validation_failed: 1 message(s) break version 2 of the schema of queue 'checked'. Message 0 at /id: must be integer.\n  message 0 at /id: must be integer\n",
  });
  expect(pinned).toMatchObject({ code: 1, stdout: '' });
  expect(lines(pinned.stderr)).toEqual([
    expect.stringMatching(/^error: schema_validation_failed: 1 message\(s\) break version 1 of /),
    '  message 0 at /note: must NOT have more than 20 characters',
  ]);
  expect(notJson).toMatchObject({ code: 1, stdout: '', stderr: expect.stringMatching(/^error: invalid_json: the message \(stdin\) is not JSON: .+\n$/) });
  expect(unknownVersion).toMatchObject({ code: 1, stderr: "error: schema_version_unknown: Queue 'checked' has no schema version 9.\n" });
  // Checked, never produced.
  expect(await stats('checked')).toMatchObject({ produced: 0, ready: 0 });
});

test('schema commands on a missing queue or topic, or on one without a schema, fail as the other commands do', async () => {
  await http('PUT', '/v1/topics/schemaless');
  const [queueGet, topicCheck, queuePut, noSchema, badKind, unreadable] = await Promise.all([
    runCli(['schema', 'get', 'queue', 'nope'], on),
    runCli(['schema', 'check', 'topic', 'nope'], { ...on, stdin: '{}' }),
    runCli(['schema', 'put', 'queue', 'nope', '--file', jsonFile('any.json', {})], on),
    runCli(['schema', 'check', 'topic', 'schemaless'], { ...on, stdin: '{}' }),
    runCli(['schema', 'get', 'bucket', 'nope'], on),
    runCli(['schema', 'put', 'queue', 'nope', '--file', path.join(files, 'missing.json')], on),
  ]);
  expect(queueGet).toMatchObject({ code: 1, stdout: '', stderr: "error: queue_not_found: Queue 'nope' does not exist.\n" });
  expect(queuePut).toMatchObject({ code: 1, stdout: '', stderr: "error: queue_not_found: Queue 'nope' does not exist.\n" });
  expect(topicCheck).toMatchObject({ code: 1, stdout: '', stderr: "error: topic_not_found: Topic 'nope' does not exist.\n" });
  expect(noSchema).toMatchObject({ code: 1, stdout: '', stderr: "error: schema_not_found: Topic 'schemaless' has no schema.\n" });
  expect(badKind).toMatchObject({ code: 1, stdout: '', stderr: expect.stringMatching(/'bucket' is invalid .*queue, topic/) });
  expect(unreadable).toMatchObject({ code: 1, stdout: '', stderr: expect.stringMatching(/^error: file_unreadable: ENOENT/) });
});

test('tail --from-beginning prints the values in order, then one produced after it started, and stops at --max-messages', async () => {
  await http('PUT', '/v1/topics/ticks');
  await produceTo('ticks', [{ value: 'v1', valueEncoding: 'text' }, { value: 'v2', valueEncoding: 'text' }]);
  const tail = spawnCli(['tail', 'ticks', '--from-beginning', '--max-messages', '3'], on);
  await tail.waitForStdout((stdout) => stdout === 'v1\nv2\n');
  await produceTo('ticks', [{ value: { n: 3 } }, { value: 'not printed', valueEncoding: 'text' }]);
  expect(await tail.done).toEqual({ code: 0, signal: null, stdout: 'v1\nv2\n{"n":3}\n', stderr: '' });
});

test('tail without --from-beginning follows every partition from its end', async () => {
  await http('PUT', '/v1/topics/spread', { partitions: 3 });
  await produceTo('spread', [0, 1, 2].map((partition) => ({ value: 'old', valueEncoding: 'text', partition })));
  const started = gateway.nextRequest('getTopic');
  const tail = spawnCli(['tail', 'spread', '--max-messages', '2'], on);
  // The tail starts at the end offsets getTopic answered: anything produced after that is printed.
  await started;
  await produceTo('spread', [
    { value: 'new-0', valueEncoding: 'text', partition: 0 },
    { value: 'new-2', valueEncoding: 'text', partition: 2 },
  ]);
  const result = await tail.done;
  expect(result).toMatchObject({ code: 0, stderr: '' });
  expect(lines(result.stdout).sort()).toEqual(['new-0', 'new-2']);
});

test('tail --group commits what it printed and leaves; the next run of the group goes on from there', async () => {
  await http('PUT', '/v1/topics/payments');
  await produceTo('payments', [{ value: 'a', valueEncoding: 'text' }, { value: 'b', valueEncoding: 'text' }]);
  const group = ['tail', 'payments', '--group', 'ledger', '--from-beginning'];
  expect(await runCli([...group, '--max-messages', '2'], on)).toEqual({ code: 0, signal: null, stdout: 'a\nb\n', stderr: '' });
  expect((await http('GET', '/v1/topics/payments/groups/ledger')).body).toMatchObject({
    partitions: [{ partition: 0, committed: 2 }],
    members: [],
  });
  await produceTo('payments', [{ value: 'c', valueEncoding: 'text' }]);
  expect(await runCli([...group, '--max-messages', '1', '--json'], on)).toMatchObject({
    code: 0,
    stdout: expect.stringMatching(/^\{.*"offset":2,.*"value":"c".*\}\n$/),
  });
});

test('Ctrl-C stops a tail cleanly: exit code 0, and a group member leaves', async () => {
  await http('PUT', '/v1/topics/quiet', { partitions: 2 });
  const started = gateway.nextRequest('getTopic');
  const plain = spawnCli(['tail', 'quiet'], on);
  await started;
  plain.child.kill('SIGINT');
  expect(await plain.done).toEqual({ code: 0, signal: null, stdout: '', stderr: '' });

  const joined = gateway.nextRequest('joinGroup');
  const member = spawnCli(['tail', 'quiet', '--group', 'watchers'], on);
  await joined;
  const left = gateway.nextRequest('leaveGroup');
  member.child.kill('SIGINT');
  expect(await member.done).toEqual({ code: 0, signal: null, stdout: '', stderr: '' });
  expect((await left).status).toBe(204);
  expect((await http('GET', '/v1/topics/quiet/groups/watchers')).body).toMatchObject({ members: [] });
});

test('MQGATE_API_KEY is sent as a bearer token; without it the gateway answers unauthorized', async () => {
  const { key, id, hash } = generateKey();
  const keys = JSON.stringify({ keys: [{ id, name: 'cli', hash, scopes: ['admin:queues/*', 'produce:queues/*'] }] });
  const keyed = await startLoggedGateway(['--keys', keys]);
  try {
    expect(await runCli(['queues', 'create', 'secured'], { url: keyed.url, apiKey: key })).toMatchObject({
      code: 0,
      stdout: 'created queue secured\n',
    });
    const [produced, refused] = await Promise.all([
      runCli(['produce', 'secured', '-m', 'x'], { url: keyed.url, apiKey: key }),
      runCli(['produce', 'secured', '-m', 'x'], { url: keyed.url }),
    ]);
    expect(produced).toMatchObject({ code: 0, stdout: 'produced 1 message to queue secured\n' });
    expect(refused).toMatchObject({ code: 1, stdout: '' });
    expect(refused.stderr).toMatch(/^error: unauthorized: [^\n]+\n$/);
  } finally {
    await keyed.close();
  }
});

test('every client command has help naming its options and the environment it reads', async () => {
  const [help, overview] = await Promise.all([runCli(['produce', '--help'], on), runCli(['--help'], on)]);
  expect(help.code).toBe(0);
  expect(help.stdout).toContain('--file <path>');
  expect(help.stdout).toContain('MQGATE_API_KEY');
  for (const command of ['serve', 'keys', 'queues', 'topics', 'schema', 'produce', 'fetch', 'ack', 'nack', 'tail']) {
    expect(overview.stdout).toMatch(new RegExp(`^  ${command} .*\\S`, 'm'));
  }
});

test('queues ls reads every page of a list longer than the API answers at once, and --prefix narrows it', async () => {
  const names = Array.from({ length: 1003 }, (_, i) => `many-${String(i).padStart(4, '0')}`);
  for (let i = 0; i < names.length; i += 50) {
    await Promise.all(names.slice(i, i + 50).map(async (name) => expect((await http('PUT', `/v1/queues/${name}`, {})).status).toBe(201)));
  }
  const [all, narrowed] = await Promise.all([
    runCli(['queues', 'ls', '--json', '--prefix', 'many-'], on),
    runCli(['queues', 'ls', '--prefix', 'many-100'], on),
  ]);
  expect((JSON.parse(all.stdout) as { queues: Array<{ name: string }> }).queues.map((q) => q.name)).toEqual(names);
  expect(lines(narrowed.stdout).map((line) => line.split(/\s+/)[0])).toEqual(['NAME', 'many-1000', 'many-1001', 'many-1002']);
});
