import type { Response } from 'supertest';
import { call, until } from './support/specResponses';
import { disposeTestGateway, type TestGateway, testGateway } from './support/testGateway';
import { sweepAt } from './store-contract/fixtures';

interface Fetched {
  memberId?: string;
  generation: number;
  partitions: number[];
  messages: Array<{ partition: number; offset: number; value: number }>;
  resets: Array<{ partition: number; from: number | null; to: number }>;
}

interface Described {
  generation: number;
  partitions: Array<{ partition: number; committed: number | null; endOffset: number; lag: number; memberId: string | null }>;
  members: Array<{ memberId: string; partitions: number[] }>;
}

let t: TestGateway;

beforeEach(() => {
  t = testGateway();
});

afterEach(() => disposeTestGateway(t));

const groupPath = (group: string) => `/v1/topics/events/groups/${group}`;
const putTopic = (body: object) => call('putTopic', t.http.put('/v1/topics/events').send(body));
const putGroup = (group: string, body: object) => call('putGroup', t.http.put(groupPath(group)).send(body));
const describe_ = async (group: string): Promise<Described> =>
  (await call('describeGroup', t.http.get(groupPath(group)))).body as Described;
const fetchAs = async (group: string, body: object = {}): Promise<Response> =>
  call('fetchGroup', t.http.post(`${groupPath(group)}/fetch`).send(body));
const commit = (group: string, body: object = {}) => call('commitGroup', t.http.post(`${groupPath(group)}/commit`).send(body));
const join = async (group: string): Promise<{ memberId: string; generation: number; partitions: number[] }> => {
  const res = await call('joinGroup', t.http.post(`${groupPath(group)}/members`));
  expect(res.status).toBe(201);
  return res.body;
};
const totalLag = (described: Described) => described.partitions.reduce((sum, p) => sum + p.lag, 0);

async function produceRange(from: number, to: number): Promise<void> {
  for (let start = from; start < to; start += 1000) {
    const messages = Array.from({ length: Math.min(1000, to - start) }, (_, i) => ({ value: start + i, key: `k${start + i}` }));
    const res = await call('produceToTopic', t.http.post('/v1/topics/events/messages').send({ messages }));
    expect(res.status).toBe(201);
  }
}

/** Fetches and commits as a simple consumer until the group has read everything; returns the values. */
async function drain(group: string): Promise<number[]> {
  const values: number[] = [];
  for (;;) {
    const { body } = await fetchAs(group, { max: 1000 });
    const fetched = body as Fetched;
    if (fetched.messages.length === 0) return values;
    values.push(...fetched.messages.map((m) => m.value));
    expect((await commit(group)).status).toBe(200);
  }
}

const sorted = (values: number[]) => [...values].sort((a, b) => a - b);
const range = (from: number, to: number) => Array.from({ length: to - from }, (_, i) => from + i);

test('two groups read the same 10,000 messages independently; a seek to a time replays exactly what came after', async () => {
  await putTopic({ partitions: 4 });
  await putGroup('billing', { resetPolicy: 'earliest' });
  await putGroup('audit', { resetPolicy: 'earliest' });
  await produceRange(0, 6000);
  t.clock.advance(1000);
  const since = t.clock.now();
  await produceRange(6000, 10_000);

  expect(totalLag(await describe_('billing'))).toBe(10_000);
  const billing = await drain('billing');
  expect(sorted(billing)).toEqual(range(0, 10_000));
  expect(totalLag(await describe_('billing'))).toBe(0);
  expect(totalLag(await describe_('audit'))).toBe(10_000);
  expect(sorted(await drain('audit'))).toEqual(range(0, 10_000));

  const seek = await call('seekGroup', t.http.post(`${groupPath('billing')}/seek`).send({ to: 'timestamp', timestamp: since }));
  expect(seek.body.offsets).toHaveLength(4);
  const afterSeek = await describe_('billing');
  expect(totalLag(afterSeek)).toBe(4000);
  for (const p of afterSeek.partitions) expect(p.committed).toBe(seek.body.offsets[p.partition].offset);
  expect(sorted(await drain('billing'))).toEqual(range(6000, 10_000));
  expect(totalLag(await describe_('billing'))).toBe(0);
  expect(totalLag(await describe_('audit'))).toBe(0);
});

test('members get disjoint partitions; a member that stops fetching is timed out, reassigned, and fenced', async () => {
  await putTopic({ partitions: 6 });
  await putGroup('workers', { resetPolicy: 'earliest', sessionTimeoutMs: 10_000 });
  const [a, b, c] = [await join('workers'), await join('workers'), await join('workers')];
  const current = await describe_('workers');
  expect(current.generation).toBe(c.generation);
  const owned = current.members.map((m) => m.partitions);
  expect(owned.map((p) => p.length)).toEqual([2, 2, 2]);
  expect(sorted(owned.flat())).toEqual(range(0, 6));

  // Everyone fetches in this generation; c is about to go silent.
  const cFetch = (await fetchAs('workers', { memberId: c.memberId })).body as Fetched;
  expect(cFetch.partitions).toEqual(current.members.find((m) => m.memberId === c.memberId)?.partitions);
  t.clock.advance(6000);
  await fetchAs('workers', { memberId: a.memberId });
  await fetchAs('workers', { memberId: b.memberId });
  t.clock.advance(6000);

  const aFetch = (await fetchAs('workers', { memberId: a.memberId })).body as Fetched;
  const bFetch = (await fetchAs('workers', { memberId: b.memberId })).body as Fetched;
  expect(aFetch.generation).toBeGreaterThan(cFetch.generation);
  expect(sorted([...aFetch.partitions, ...bFetch.partitions])).toEqual(range(0, 6));
  expect(aFetch.partitions.filter((p) => bFetch.partitions.includes(p))).toEqual([]);
  expect((await describe_('workers')).members.map((m) => m.memberId).sort()).toEqual([a.memberId, b.memberId].sort());

  const late = await commit('workers', { memberId: c.memberId, generation: cFetch.generation, offsets: [{ partition: cFetch.partitions[0], offset: 0 }] });
  expect({ status: late.status, code: late.body.code }).toEqual({ status: 409, code: 'stale_generation' });
  const gone = await fetchAs('workers', { memberId: c.memberId });
  expect({ status: gone.status, code: gone.body.code }).toEqual({ status: 409, code: 'unknown_member' });
});

test("a member's commit is fenced to its own partitions and the current generation", async () => {
  await putTopic({ partitions: 2 });
  await putGroup('g', { resetPolicy: 'earliest' });
  await produceRange(0, 10);
  const a = await join('g');
  const b = await join('g');
  const fetched = (await fetchAs('g', { memberId: a.memberId })).body as Fetched;
  const notMine = range(0, 2).find((p) => !fetched.partitions.includes(p)) as number;
  const foreign = await commit('g', { memberId: a.memberId, generation: fetched.generation, offsets: [{ partition: notMine, offset: 1 }] });
  expect({ status: foreign.status, code: foreign.body.code }).toEqual({ status: 409, code: 'stale_generation' });
  const own = await commit('g', { memberId: a.memberId, generation: fetched.generation });
  expect(own.status).toBe(200);
  expect(own.body).toMatchObject({ memberId: a.memberId, generation: fetched.generation });
  // b leaves: a new generation, a's old generation is stale, and a now owns both partitions.
  expect((await call('leaveGroup', t.http.delete(`${groupPath('g')}/members/${b.memberId}`))).status).toBe(204);
  const stale = await commit('g', { memberId: a.memberId, generation: fetched.generation });
  expect(stale.body.code).toBe('stale_generation');
  expect(((await fetchAs('g', { memberId: a.memberId })).body as Fetched).partitions).toEqual([0, 1]);
});

test('uncommitted reads are read again after a rebalance; committed ones are not', async () => {
  await putTopic({ partitions: 1 });
  await putGroup('g', { resetPolicy: 'earliest' });
  await produceRange(0, 6);
  const a = await join('g');
  const first = (await fetchAs('g', { memberId: a.memberId, max: 2 })).body as Fetched;
  await commit('g', { memberId: a.memberId, generation: first.generation });
  const second = (await fetchAs('g', { memberId: a.memberId, max: 2 })).body as Fetched;
  expect(second.messages.map((m) => m.value)).toEqual([2, 3]);
  await join('g');
  await call('leaveGroup', t.http.delete(`${groupPath('g')}/members/${a.memberId}`));
  const [next] = (await describe_('g')).members;
  const again = (await fetchAs('g', { memberId: next.memberId, max: 10 })).body as Fetched;
  expect(again.messages.map((m) => m.value)).toEqual([2, 3, 4, 5]);
});

test('a new group starts at latest by default, or at earliest as asked, and says so', async () => {
  await putTopic({ partitions: 1 });
  await produceRange(0, 5);
  const latest = (await fetchAs('fresh')).body as Fetched;
  expect(latest.messages).toEqual([]);
  expect(latest.resets).toEqual([{ partition: 0, from: null, to: 5 }]);
  await putGroup('replay', { resetPolicy: 'earliest' });
  const earliest = (await fetchAs('replay')).body as Fetched;
  expect(earliest.messages.map((m) => m.value)).toEqual(range(0, 5));
  expect(earliest.resets).toEqual([{ partition: 0, from: null, to: 0 }]);
});

test('a committed offset below the retention start is reset by the policy, and the fetch says so', async () => {
  await putTopic({ partitions: 1 });
  await putGroup('slow', { resetPolicy: 'earliest' });
  await produceRange(0, 10);
  await commit('slow', { offsets: [{ partition: 0, offset: 2 }] });
  await putTopic({ partitions: 1, retentionBytes: 3 });
  await t.store.sweep(sweepAt(t.clock.now(), { idempotencyWindowMs: 1 }));
  const fetched = (await fetchAs('slow')).body as Fetched;
  expect(fetched.resets).toEqual([{ partition: 0, from: 2, to: 7 }]);
  expect(fetched.messages.map((m) => m.value)).toEqual([7, 8, 9]);
});

test('a simple fetch is refused while the group has members', async () => {
  await putTopic({ partitions: 1 });
  await join('g');
  const res = await fetchAs('g');
  expect({ status: res.status, code: res.body.code }).toEqual({ status: 409, code: 'group_has_members' });
});

test('a waiting group fetch is woken by a produce', async () => {
  await putTopic({ partitions: 2 });
  const pending = t.http.post(`${groupPath('live')}/fetch`).send({ waitMs: 10_000 }).then((res) => res);
  await until(() => t.wakeups.waiting > 0);
  expect(t.wakeups.waiting).toBe(1);
  await produceRange(0, 1);
  expect(((await pending).body as Fetched).messages.map((m) => m.value)).toEqual([0]);
});

test('groups and their committed offsets survive a restart', async () => {
  await putTopic({ partitions: 3 });
  await putGroup('durable', { resetPolicy: 'earliest' });
  await produceRange(0, 30);
  await commit('durable', { offsets: [{ partition: 1, offset: 4 }] });
  const before = await describe_('durable');
  await t.close();
  t = testGateway({ dataDir: t.dataDir });
  expect(await describe_('durable')).toEqual(before);
  expect((await call('listGroups', t.http.get('/v1/topics/events/groups'))).body.groups.map((g: { name: string }) => g.name)).toEqual([
    'durable',
  ]);
});

test('bad group requests get their problem codes', async () => {
  await putTopic({ partitions: 2 });
  const missing = await call('describeGroup', t.http.get(groupPath('nope')));
  expect({ status: missing.status, code: missing.body.code }).toEqual({ status: 404, code: 'group_not_found' });
  const seek = await call('seekGroup', t.http.post(`${groupPath('g')}/seek`).send({ to: 'offset' }));
  expect({ status: seek.status, code: seek.body.code }).toEqual({ status: 422, code: 'validation_failed' });
  await putGroup('g', {});
  const pastEnd = await commit('g', { offsets: [{ partition: 0, offset: 5 }] });
  expect({ status: pastEnd.status, code: pastEnd.body.code }).toEqual({ status: 416, code: 'offset_out_of_range' });
  const noPartition = await commit('g', { offsets: [{ partition: 9, offset: 0 }] });
  expect({ status: noPartition.status, code: noPartition.body.code }).toEqual({ status: 404, code: 'partition_not_found' });
  const leave = await call('leaveGroup', t.http.delete(`${groupPath('g')}/members/not-a-member`));
  expect({ status: leave.status, code: leave.body.code }).toEqual({ status: 409, code: 'unknown_member' });
  expect((await call('deleteGroup', t.http.delete(groupPath('g')))).status).toBe(204);
  const gone = await call('describeGroup', t.http.get(groupPath('g')));
  expect({ status: gone.status, code: gone.body.code }).toEqual({ status: 404, code: 'group_not_found' });
});
