import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import Database from 'better-sqlite3';
import { CLAIM, FIFO_NEXT_HEAD } from '../persistence/sqlite/claim';
import { GroupCommit } from '../persistence/sqlite/groupCommit';
import type { FileSync } from '../persistence/sqlite/walSync';
import { TOP_QUEUES } from '../persistence/sqlite/queueRow';
import { packagePath } from '../persistence/packagePath';
import { LIVE_LEASE } from '../persistence/sqlite/settle';
import { DATABASE_FILE, SqliteStore, type SqliteStoreOptions } from '../persistence/sqlite/sqliteStore';
import { rules } from '../queue/rules';
import { describeStoreContract } from './store-contract';
import { expectFailure, message, opts, settings, T0 } from './store-contract/fixtures';
import { eventually } from './support/receiver';
import { tempDir } from './support/testGateway';

/** A store over `dataDir` as the gateway opens it (FULL, queue/'s rules), with any other options a test needs. */
function openStore(dataDir: string, options: Partial<Omit<SqliteStoreOptions, 'dataDir'>> = {}): SqliteStore {
  return new SqliteStore({ dataDir, synchronous: 'FULL', rules, ...options });
}

describeStoreContract('sqlite', async () => {
  const dataDir = tempDir();
  let store = openStore(dataDir);
  return {
    store,
    async reopen() {
      await store.close();
      store = openStore(dataDir);
      return store;
    },
    async cleanup() {
      await store.close();
      fs.rmSync(dataDir, { recursive: true, force: true });
    },
  };
});

describe('sqlite backend', () => {
  let dataDir: string;
  let store: SqliteStore;

  beforeEach(async () => {
    dataDir = tempDir();
    store = openStore(dataDir);
    await store.putQueue({ name: 'q', settings: settings(), now: T0 });
  });

  afterEach(async () => {
    await store.close();
    fs.rmSync(dataDir, { recursive: true, force: true });
  });

  test.each(['FULL', 'NORMAL'] as const)('%s: concurrent writes share one transaction (group commit), and no other commit follows', async (synchronous) => {
    await store.close();
    store = openStore(dataDir, { synchronous });
    const before = store.commitStats;
    const results = await Promise.all(Array.from({ length: 50 }, (_, i) => store.produce({ queue: 'q', messages: [message(`m${i}`)], ...opts() })));
    await turns(() => false);
    const after = store.commitStats;
    expect(after.operations - before.operations).toBe(50);
    expect(after.commits - before.commits).toBe(1);
    expect(results.map(([r]) => r.offset).sort((a, b) => a - b)).toEqual(Array.from({ length: 50 }, (_, i) => i));
  });

  test("leases run out by the callers' clock: one process, one clock", async () => {
    const hold = (holder: string, now: number) => store.holdLeases({ names: ['sweeper'], holder, ttlMs: 1000, now });
    expect(await hold('a', T0)).toEqual(['sweeper']);
    expect(await hold('b', T0 + 999)).toEqual([]);
    expect(await hold('b', T0 + 1000)).toEqual(['sweeper']);
  });

  test('a reopened file has no leases: the process that held them has stopped, its work is the next one\'s at once', async () => {
    await store.holdLeases({ names: ['sweeper'], holder: 'a', ttlMs: 60_000, now: T0 });
    await store.close();
    store = openStore(dataDir);
    expect(await store.holdLeases({ names: ['sweeper'], holder: 'b', ttlMs: 60_000, now: T0 })).toEqual(['sweeper']);
  });

  test("a produce in the same commit as a change of its queue's settings, after it, follows the change", async () => {
    await store.putQueue({ name: 'q', settings: settings({ maxMessageBytes: 10 }), now: T0 });
    const big = () => store.produce({ queue: 'q', messages: [message('x', { bytes: 11 })], ...opts() });
    await expectFailure(big(), { code: 'message_too_large', name: 'q', index: 0, bytes: 11, max: 10 });
    const before = store.commitStats.commits;
    const [changed, produced] = await Promise.all([store.putQueue({ name: 'q', settings: settings({ maxMessageBytes: 11 }), now: T0 }), big()]);
    expect([changed.created, produced.length, store.commitStats.commits - before]).toEqual([false, 1, 1]);
  });

  test('a failing write in a group is rolled back alone', async () => {
    const outcomes = await Promise.allSettled([
      store.produce({ queue: 'q', messages: [message('a')], ...opts() }),
      store.produce({ queue: 'missing', messages: [message('b')], ...opts() }),
      store.produce({ queue: 'q', messages: [message('c')], ...opts() }),
    ]);
    expect(outcomes.map((o) => o.status)).toEqual(['fulfilled', 'rejected', 'fulfilled']);
    expect((await store.queueStats({ queue: 'q', now: T0 })).ready).toBe(2);
  });

  test('a write that fails after it wrote rows (past a quota) is rolled back alone: the writes of its group before and after it are stored once, at the offsets they were answered with', async () => {
    await store.putQueue({ name: 'capped', settings: settings({ maxStoredMessages: 1 }), now: T0 });
    const commits = store.commitStats.commits;
    const [first, capped, last] = await Promise.allSettled([
      store.produce({ queue: 'q', messages: [message('a')], ...opts() }),
      store.produce({ queue: 'capped', messages: [message('b'), message('c')], ...opts() }),
      store.produce({ queue: 'q', messages: [message('d')], ...opts() }),
    ]);
    expect(capped).toMatchObject({ status: 'rejected', reason: { code: 'quota_exceeded' } });
    expect(store.commitStats.commits - commits).toBe(1);
    const answered = [first, last].map((outcome) => (outcome.status === 'fulfilled' ? outcome.value[0].offset : null));
    const stored = await store.browse({ at: { queue: 'q' }, after: null, max: 10, now: T0 });
    expect(stored.map((m) => [m.value.toString(), m.offset])).toEqual([
      ['a', answered[0]],
      ['d', answered[1]],
    ]);
    expect(await store.browse({ at: { queue: 'capped' }, after: null, max: 10, now: T0 })).toEqual([]);
    expect((await store.queueStats({ queue: 'capped', now: T0 })).ready).toBe(0);
  });

  test("the produces of one commit write their partitions' heads and counts once, before any other write of the commit and before COMMIT: offsets, quotas and counts come out as if each produce had written its own", async () => {
    await store.putQueue({ name: 'capped', settings: settings({ maxStoredMessages: 3 }), now: T0 });
    const produce = (queue: string, ...texts: string[]) => store.produce({ queue, messages: texts.map((text) => message(text)), ...opts() });
    const offsets = (outcome: PromiseSettledResult<Array<{ offset: number }>>) => (outcome.status === 'fulfilled' ? outcome.value.map((r) => r.offset) : outcome.reason);
    let commits = store.commitStats.commits;
    // A commit where every unit succeeds (none runs again in a savepoint of its own).
    const [first, second, purged, third, capped] = await Promise.allSettled([
      produce('q', 'a'),
      produce('q', 'bb', 'ccc'),
      // Zeroes the counts that the two produces before it add to.
      store.purgeQueue('q'),
      produce('q', 'dddd'),
      produce('capped', 'x', 'y'),
    ]);
    expect(store.commitStats.commits - commits).toBe(1);
    expect([first, second, third, capped].map(offsets)).toEqual([[0], [1, 2], [3], [0, 1]]);
    expect(purged).toEqual({ status: 'fulfilled', value: 3 });
    commits = store.commitStats.commits;
    // 2 stored, 1 more by the produce before it in the same commit: 1 more would pass 3.
    const [fits, over] = await Promise.allSettled([produce('capped', 'v'), produce('capped', 'z')]);
    expect(store.commitStats.commits - commits).toBe(1);
    expect(offsets(fits)).toEqual([2]);
    expect(over).toMatchObject({ status: 'rejected', reason: { failure: { code: 'quota_exceeded', unit: 'messages', stored: 3, adding: 1, max: 3 } } });
    const raw = new Database(path.join(dataDir, DATABASE_FILE), { readonly: true });
    try {
      const counts = raw
        .prepare(
          `SELECT t.name, p.next_offset, p.messages, p.bytes, s.waiting, s.waiting_bytes,
                  (SELECT count(*) FROM messages m WHERE m.topic_id = t.id) AS rows,
                  (SELECT sum(length(m.value)) FROM messages m WHERE m.topic_id = t.id) AS stored
             FROM partitions p JOIN topics t ON t.id = p.topic_id JOIN subscriptions s ON s.topic_id = t.id ORDER BY t.name`,
        )
        .all();
      expect(counts).toEqual([
        { name: 'capped', next_offset: 3, messages: 3, bytes: 3, waiting: 3, waiting_bytes: 3, rows: 3, stored: 3 },
        { name: 'q', next_offset: 4, messages: 1, bytes: 4, waiting: 1, waiting_bytes: 4, rows: 1, stored: 4 },
      ]);
    } finally {
      raw.close();
    }
  });

  /** An fsync asked of the OS, held: of which file, and how to let it go through (or fail it). */
  interface HeldFsync {
    file: string;
    release: (error?: NodeJS.ErrnoException) => void;
  }

  /** The fsyncs asked of the OS from now on, each held until released. */
  function holdFsyncs(): { held: HeldFsync[]; restore: () => void } {
    const real = fs.fsync;
    const held: HeldFsync[] = [];
    const spy = jest.spyOn(fs, 'fsync').mockImplementation((fd: number, callback: fs.NoParamCallback) => {
      held.push({
        file: fs.readlinkSync(`/proc/self/fd/${fd}`),
        release: (error) => (error === undefined ? real(fd, callback) : callback(error)),
      });
    });
    return { held, restore: () => spy.mockRestore() };
  }

  /** The first `bytes` bytes of `file`. */
  function headOf(file: string, bytes: number): Buffer {
    const head = Buffer.alloc(bytes);
    const fd = fs.openSync(file, 'r');
    try {
      fs.readSync(fd, head, 0, bytes, 0);
    } finally {
      fs.closeSync(fd);
    }
    return head;
  }

  /**
   * The log's index as SQLite documents it (the WAL-index header of the -shm
   * file, in the machine's byte order): the frames in the log (mxFrame), and
   * how many of them a checkpoint has copied into the database (nBackfill).
   */
  function logIndex(file: string): { frames: number; copied: number } {
    const header = headOf(`${file}-shm`, 100);
    const read = (offset: number): number => (os.endianness() === 'LE' ? header.readUInt32LE(offset) : header.readUInt32BE(offset));
    return { frames: read(16), copied: read(96) };
  }

  /** Lets the event loop turn until `done()` or 20 turns have passed (a commit runs on setImmediate). */
  async function turns(done: () => boolean): Promise<void> {
    for (let i = 0; i < 20 && !done(); i += 1) await new Promise((resolve) => setImmediate(resolve));
  }

  test('a thread of its own copies the log into the database after commits, long before 1,000 pages would make the store do it, and the next write starts the log again', async () => {
    const file = path.join(dataDir, DATABASE_FILE);
    const before = fs.statSync(file).size;
    // 40 commits of 5 KB each: 100 pages or so of the log, a tenth of what SQLite's automatic checkpoint waits for.
    for (let i = 0; i < 40; i += 1) await store.produce({ queue: 'q', messages: [message('x'.repeat(5000))], ...opts() });
    await eventually(() => {
      const index = logIndex(file);
      return index.frames > 0 && index.copied === index.frames;
    });
    expect(fs.statSync(file).size).toBeGreaterThan(before + 200_000);
    // The log's header counts its restarts (its checkpoint sequence number, in SQLite's WAL format).
    const restarts = (): number => headOf(`${file}-wal`, 16).readUInt32BE(12);
    const restarted = restarts();
    await store.produce({ queue: 'q', messages: [message('next')], ...opts() });
    expect(restarts()).toBe(restarted + 1);
  });

  test("closing waits for the checkpointer's thread even in a process with nothing else to do: the close ends, the log is emptied, and what follows it runs", () => {
    // A process of its own: this one has jest's handles, which would hold it up anyway.
    const script = `
      const { SqliteStore } = require(${JSON.stringify(packagePath('dist', 'persistence', 'sqlite', 'sqliteStore.js'))});
      const { rules } = require(${JSON.stringify(packagePath('dist', 'queue', 'rules.js'))});
      const store = new SqliteStore({ dataDir: process.argv[1], synchronous: 'FULL', rules });
      store.putQueue({ name: 'q', settings: ${JSON.stringify(settings())}, now: 0 }).then(() => store.close()).then(() => console.log('closed'));
    `;
    const own = tempDir();
    try {
      const child = spawnSync(process.execPath, ['-e', script, own], { encoding: 'utf8', timeout: 30_000 });
      expect(child.stderr).toBe('');
      expect(child.stdout).toBe('closed\n');
      expect(child.status).toBe(0);
      // The last connection closed after a checkpoint of the whole log: SQLite removes it.
      expect(fs.existsSync(path.join(own, DATABASE_FILE))).toBe(true);
      expect(fs.existsSync(path.join(own, `${DATABASE_FILE}-wal`))).toBe(false);
    } finally {
      fs.rmSync(own, { recursive: true, force: true });
    }
  });

  test('FULL: a write is answered only once its fsync of the log returns, and a read of it waits for that fsync too', async () => {
    const fsyncs = holdFsyncs();
    try {
      const answered: string[] = [];
      const write = store.produce({ queue: 'q', messages: [message('a')], ...opts() }).then(() => answered.push('produce'));
      await turns(() => fsyncs.held.length > 0);
      expect(fsyncs.held.map((sync) => sync.file)).toEqual([fs.realpathSync(path.join(dataDir, `${DATABASE_FILE}-wal`))]);
      // Committed, not yet on disk: nothing that shows it is answered.
      const read = store.queueStats({ queue: 'q', now: T0 }).then((stats) => answered.push(`stats ready=${stats.ready}`));
      const commits = store.commitStats.commits;
      const second = store.produce({ queue: 'q', messages: [message('b')], ...opts() }).then(() => answered.push('second produce'));
      await turns(() => false);
      expect(answered).toEqual([]);
      // Settings are read as committed, without the wait.
      expect((await store.getQueue('q'))?.name).toBe('q');
      // One fsync at a time: the second produce committed while this one ran (the read, asked before, saw one message),
      // and waits for an fsync of its own.
      expect(store.commitStats.commits).toBe(commits + 1);
      expect(fsyncs.held).toHaveLength(1);
      const askedAtAnswer = write.then(() => fsyncs.held.length);
      fsyncs.held[0].release();
      await Promise.all([write, read]);
      expect(answered).toEqual(['produce', 'stats ready=1']);
      // Once it ended, the second produce committed and its fsync was asked before the first was answered.
      expect(await askedAtAnswer).toBe(2);
      expect(answered).toHaveLength(2);
      fsyncs.held[1].release();
      await second;
      expect(answered).toEqual(['produce', 'stats ready=1', 'second produce']);
    } finally {
      fsyncs.restore();
    }
  });

  test('FULL: writes asked for while an fsync runs commit together once a turn of the event loop brings no more (once an fsync), and wait for the next fsync', async () => {
    const fsyncs = holdFsyncs();
    try {
      const answered: string[] = [];
      const first = store.produce({ queue: 'q', messages: [message('a')], ...opts() }).then(() => answered.push('a'));
      await turns(() => fsyncs.held.length > 0);
      const before = store.commitStats;
      // One write a turn: while they keep coming, they wait to commit together.
      const held: Array<Promise<number>> = [];
      for (const value of ['b', 'c', 'd', 'e']) {
        held.push(store.produce({ queue: 'q', messages: [message(value)], ...opts() }).then(() => answered.push(value)));
        await new Promise((resolve) => setImmediate(resolve));
        expect(store.commitStats).toEqual(before);
      }
      // A turn with none: they commit, in one transaction, with the fsync still running.
      await turns(() => store.commitStats.commits > before.commits);
      expect(store.commitStats).toEqual({ commits: before.commits + 1, operations: before.operations + 4 });
      expect(fsyncs.held).toHaveLength(1);
      // Only one commit while it runs: a write after that one waits for its end.
      held.push(store.produce({ queue: 'q', messages: [message('f')], ...opts() }).then(() => answered.push('f')));
      await turns(() => false);
      expect(store.commitStats.commits).toBe(before.commits + 1);
      // The running fsync began before their commit: it answers 'a' only, and theirs is asked before that answer.
      const askedAtAnswer = first.then(() => fsyncs.held.length);
      fsyncs.held[0].release();
      expect(await askedAtAnswer).toBe(2);
      await turns(() => false);
      expect(answered).toEqual(['a']);
      fsyncs.held[1].release();
      await Promise.all(held);
      expect(answered).toEqual(['a', 'b', 'c', 'd', 'e', 'f']);
    } finally {
      fsyncs.restore();
    }
  });

  test('FULL: a read of what is already on disk asks for no fsync of its own', async () => {
    await store.produce({ queue: 'q', messages: [message('a')], ...opts() });
    const fsyncs = holdFsyncs();
    try {
      const read = store.queueStats({ queue: 'q', now: T0 });
      await turns(() => fsyncs.held.length > 0);
      expect(fsyncs.held).toHaveLength(0);
      expect((await read).ready).toBe(1);
    } finally {
      for (const sync of fsyncs.held) sync.release();
      fsyncs.restore();
    }
  });

  test('each commit reports its own duration, from BEGIN until durable, in seconds', async () => {
    await store.close();
    const durations: number[] = [];
    store = openStore(dataDir, { onCommit: (seconds) => durations.push(seconds) });
    const started = performance.now();
    await store.produce({ queue: 'q', messages: [message('a')], ...opts() });
    const elapsed = (performance.now() - started) / 1000;
    expect(durations).toHaveLength(1);
    expect(durations[0]).toBeGreaterThan(0);
    expect(durations[0]).toBeLessThanOrEqual(elapsed);
  });

  test('FULL: a failed fsync fails the writes it covered (kept or not, unknown) and every read and write after it (nothing written) with storage_unavailable, with no fsync that could hide it', async () => {
    const fsyncs = holdFsyncs();
    try {
      const failed = store.produce({ queue: 'q', messages: [message('a')], ...opts() });
      await turns(() => fsyncs.held.length > 0);
      const eio = Object.assign(new Error('EIO: i/o error, fsync'), { code: 'EIO' });
      fsyncs.held[0].release(eio);
      await expectFailure(failed, { code: 'storage_unavailable', state: 'unconfirmed' });
      await expect(failed).rejects.toMatchObject({ cause: eio });
      await expectFailure(store.produce({ queue: 'q', messages: [message('b')], ...opts() }), { code: 'storage_unavailable', state: 'halted' });
      await expectFailure(store.queueStats({ queue: 'q', now: T0 }), { code: 'storage_unavailable' });
      expect(fsyncs.held).toHaveLength(1);
    } finally {
      fsyncs.restore();
    }
    // Restarted, the store has the write whose fsync failed (the OS still had it) and none of the one it refused.
    await store.close();
    store = openStore(dataDir);
    const kept = await store.browse({ at: { queue: 'q' }, after: null, max: 10, now: T0 });
    expect(kept.map((m) => m.value.toString())).toEqual(['a']);
  });

  test('FULL: a write asked for while a commit is announced (by an onAvailable listener) waits for an fsync of its own, not the one already due', async () => {
    await store.putQueue({ name: 'echo', settings: settings(), now: T0 });
    const fsyncs = holdFsyncs();
    try {
      const answered: string[] = [];
      let echo: Promise<unknown> | undefined;
      const off = store.onAvailable((queue) => {
        if (queue === 'q') echo ??= store.produce({ queue: 'echo', messages: [message('echo')], ...opts() }).then(() => answered.push('echo'));
      });
      const first = store.produce({ queue: 'q', messages: [message('a')], ...opts() }).then(() => answered.push('a'));
      await turns(() => fsyncs.held.length > 0);
      fsyncs.held[0].release();
      await first;
      // The echo committed after the fsync that answered 'a' began: that fsync does not cover it.
      await turns(() => fsyncs.held.length > 1);
      expect(answered).toEqual(['a']);
      fsyncs.held[1].release();
      await echo;
      expect(answered).toEqual(['a', 'echo']);
      off();
    } finally {
      fsyncs.restore();
    }
  });

  test('NORMAL: writes are answered without an fsync of their own', async () => {
    await store.close();
    store = openStore(dataDir, { synchronous: 'NORMAL' });
    const fsyncs = holdFsyncs();
    try {
      await store.produce({ queue: 'q', messages: [message('a')], ...opts() });
      expect(fsyncs.held).toEqual([]);
    } finally {
      fsyncs.restore();
    }
  });

  test('the database is in WAL mode with numbered migrations recorded and STRICT tables', async () => {
    await store.close();
    const db = new Database(path.join(dataDir, DATABASE_FILE), { readonly: true });
    expect(db.pragma('journal_mode', { simple: true })).toBe('wal');
    expect(db.prepare('SELECT version, name FROM schema_migrations ORDER BY version').all()).toEqual([
      { version: 1, name: '001_init.sql' },
      { version: 2, name: '002_consumer_groups.sql' },
      { version: 3, name: '003_push_subscriptions.sql' },
      { version: 4, name: '004_quotas.sql' },
      { version: 5, name: '005_fifo.sql' },
      { version: 6, name: '006_receipt_secret.sql' },
      { version: 7, name: '007_replies.sql' },
      { version: 8, name: '008_stats_counters.sql' },
      { version: 9, name: '009_backlog_order.sql' },
      { version: 10, name: '010_leases.sql' },
      { version: 11, name: '011_sqs_queue_attributes.sql' },
      { version: 12, name: '012_moved_ids_and_running_move_tasks.sql' },
      { version: 13, name: '013_schemas.sql' },
      { version: 14, name: '014_fifo_group_indexes.sql' },
      { version: 15, name: '015_counted_inserts.sql' },
      { version: 16, name: '016_produced_from_offsets.sql' },
    ]);
    const strict = db.prepare("SELECT name FROM pragma_table_list WHERE schema = 'main' AND strict = 1 ORDER BY name").pluck().all();
    expect(strict).toEqual(
      expect.arrayContaining(['consumer_groups', 'deliveries', 'group_members', 'group_offsets', 'idempotency_keys', 'leases', 'messages', 'partitions', 'queue_tags', 'receipt_secret', 'schema_settings', 'schema_versions', 'subscriptions', 'topics']),
    );
    db.close();
    store = openStore(dataDir);
  });

  test('migration 004 counts the messages a database already stores, so quotas hold from the first produce', async () => {
    await store.produce({ queue: 'q', messages: ['a', 'b', 'c'].map((v) => message(v)), ...opts() });
    await store.close();
    // The database as the release before 004 left it.
    const db = new Database(path.join(dataDir, DATABASE_FILE));
    db.exec(`ALTER TABLE partitions DROP COLUMN messages;
             ALTER TABLE topics DROP COLUMN max_stored_messages;
             ALTER TABLE topics DROP COLUMN max_stored_bytes;
             DELETE FROM schema_migrations WHERE version = 4;`);
    db.close();
    store = openStore(dataDir);
    await store.putQueue({ name: 'q', settings: settings({ maxStoredMessages: 4 }), now: T0 });
    await store.produce({ queue: 'q', messages: [message('d')], ...opts() });
    await expectFailure(store.produce({ queue: 'q', messages: [message('e')], ...opts() }), { code: 'quota_exceeded', name: 'q', unit: 'messages', stored: 4, max: 4, adding: 1 });
  });

  /** Each queue's deliveries as (group_id, message group) pairs, straight from the file. */
  async function deliveryGroups(): Promise<Record<string, Array<[string | null, string | null]>>> {
    await store.close();
    const db = new Database(path.join(dataDir, DATABASE_FILE), { readonly: true });
    const rows = db
      .prepare(
        `SELECT t.name, d.group_id, m.group_id AS message_group FROM deliveries d
           JOIN subscriptions s ON s.id = d.subscription_id JOIN topics t ON t.id = s.topic_id
           JOIN messages m ON m.id = d.message_id ORDER BY t.name, d.message_id`,
      )
      .all() as Array<{ name: string; group_id: string | null; message_group: string | null }>;
    db.close();
    store = openStore(dataDir);
    const groups: Record<string, Array<[string | null, string | null]>> = {};
    for (const row of rows) (groups[row.name] ??= []).push([row.group_id, row.message_group]);
    return groups;
  }

  test("only FIFO queues' deliveries carry a group ('' for none), so the group indexes hold theirs alone; a queue's change of ordering moves its deliveries in or out", async () => {
    await store.putQueue({ name: 'f', settings: settings({ ordering: 'fifo' }), now: T0 });
    const grouped = [message('a', { group: 'g' }), message('b')];
    await store.produce({ queue: 'q', messages: grouped, ...opts() });
    await store.produce({ queue: 'f', messages: grouped, ...opts() });
    expect(await deliveryGroups()).toEqual({ f: [['g', 'g'], ['', null]], q: [[null, 'g'], [null, null]] });
    await store.putQueue({ name: 'q', settings: settings({ ordering: 'fifo' }), now: T0 });
    await store.putQueue({ name: 'f', settings: settings(), now: T0 });
    expect(await deliveryGroups()).toEqual({ f: [[null, 'g'], [null, null]], q: [['g', 'g'], ['', null]] });
  });

  test("migration 014 takes standard queues' deliveries out of the group indexes and gives a FIFO queue's group-less ones ''", async () => {
    await store.putQueue({ name: 'f', settings: settings({ ordering: 'fifo' }), now: T0 });
    const grouped = [message('a', { group: 'g' }), message('b')];
    await store.produce({ queue: 'q', messages: grouped, ...opts() });
    await store.produce({ queue: 'f', messages: grouped, ...opts() });
    await store.close();
    // The database as the release before 014 left it: every delivery with its message's group, the indexes whole.
    const db = new Database(path.join(dataDir, DATABASE_FILE));
    db.exec(`UPDATE deliveries SET group_id = (SELECT group_id FROM messages WHERE id = deliveries.message_id);
             DROP INDEX deliveries_by_group;
             DROP INDEX deliveries_leased_by_group;
             CREATE INDEX deliveries_by_group ON deliveries (subscription_id, group_id, message_id);
             CREATE INDEX deliveries_leased_by_group ON deliveries (subscription_id, group_id, available_at) WHERE leased = 1;
             DELETE FROM schema_migrations WHERE version = 14;`);
    db.close();
    store = openStore(dataDir);
    expect(await deliveryGroups()).toEqual({ f: [['g', 'g'], ['', null]], q: [[null, 'g'], [null, null]] });
    // The FIFO queue delivers as before: the group-less message is a group of its own.
    const leased = await store.claim({ from: { queue: 'f' }, max: 10, now: T0, visibilityTimeoutMs: 1000 });
    expect(leased.leases.map((l) => l.message.value.toString())).toEqual(['a', 'b']);
  });

  test('a database from before migration 006 gets a receipt secret when this code first opens it', async () => {
    await store.close();
    // The database as the release before 006 left it.
    const db = new Database(path.join(dataDir, DATABASE_FILE));
    db.exec('DROP TABLE receipt_secret; DELETE FROM schema_migrations WHERE version = 6;');
    db.close();
    store = openStore(dataDir);
    expect((await store.receiptSecret()).length).toBe(32);
  });

  test('a second store open over the same file has the same receipt secret as the first', async () => {
    const second = openStore(dataDir);
    try {
      expect(await second.receiptSecret()).toEqual(await store.receiptSecret());
    } finally {
      await second.close();
    }
  });

  test('claim and settle are index lookups, whatever the backlog or the number in flight', async () => {
    await store.close();
    const db = new Database(path.join(dataDir, DATABASE_FILE), { readonly: true });
    const plan = (sql: string, params: object): string =>
      (db.prepare(`EXPLAIN QUERY PLAN ${sql}`).all(params) as Array<{ detail: string }>).map((p) => p.detail).join('\n');
    const claimPlan = plan(CLAIM, { subscription: 1, now: 5, leaseUntil: 9, max: 10 });
    expect(claimPlan).toMatch(/SEARCH deliveries USING COVERING INDEX deliveries_by_availability \(subscription_id=\? AND available_at<\?\)/);
    expect(claimPlan).not.toMatch(/TEMP B-TREE|SCAN deliveries/);
    // FIFO: the next group's head is one seek on the group index, whatever is queued behind each group.
    const fifoPlan = plan(FIFO_NEXT_HEAD, { subscription: 1, group: 'g' });
    expect(fifoPlan).toMatch(/SEARCH deliveries USING INDEX deliveries_by_group \(subscription_id=\? AND group_id>\?\)/);
    expect(fifoPlan).not.toMatch(/SCAN|TEMP B-TREE/);
    const settlePlan = plan(`DELETE FROM deliveries WHERE ${LIVE_LEASE}`, { subscription: 1, now: 5, refs: '[[1,1]]' });
    expect(settlePlan).toMatch(/SEARCH deliveries USING PRIMARY KEY \(subscription_id=\? AND message_id=\?\)/);
    // The queues with the most waiting: down their index, however many queues there are; no sort of them all.
    const topPlan = plan(TOP_QUEUES, { limit: 20 });
    expect(topPlan).toMatch(/SCAN s USING INDEX queues_by_backlog/);
    expect(topPlan).not.toMatch(/TEMP B-TREE|SCAN t/);
    db.close();
    store = openStore(dataDir);
  });

  test('a full disk fails the write with storage_full, keeps what was stored, and writes resume with space', async () => {
    await store.produce({ queue: 'q', messages: [message('kept')], ...opts() });
    await store.close();
    const fileBytes = fs.statSync(path.join(dataDir, DATABASE_FILE)).size;
    store = openStore(dataDir, { maxDatabaseBytes: fileBytes + 8192 });
    const big = message('x'.repeat(200_000));
    await expectFailure(store.produce({ queue: 'q', messages: [big], ...opts() }), { code: 'storage_full' });
    expect((await store.queueStats({ queue: 'q', now: T0 })).ready).toBe(1);
    await store.close();
    store = openStore(dataDir);
    await store.produce({ queue: 'q', messages: [big], ...opts() });
    expect((await store.queueStats({ queue: 'q', now: T0 })).ready).toBe(2);
    const db = new Database(path.join(dataDir, DATABASE_FILE), { readonly: true });
    expect(db.pragma('integrity_check', { simple: true })).toBe('ok');
    db.close();
  });

  test('a COMMIT that fails fails every write of its batch, stores none of them, and the next batch commits on the same connection', async () => {
    const db = new Database(path.join(dataDir, 'commit-failure.db'));
    db.pragma('foreign_keys = ON');
    db.exec(`CREATE TABLE parent (id INTEGER PRIMARY KEY);
             CREATE TABLE child (parent INTEGER REFERENCES parent (id) DEFERRABLE INITIALLY DEFERRED)`);
    const writes = new GroupCommit(db, () => undefined, () => undefined, null);
    const insert = (sql: string) => () => db.prepare(sql).run();
    try {
      // A deferred foreign key is checked by COMMIT, which fails and leaves the transaction open, as SQLite does after some failed COMMITs (SQLITE_BUSY).
      const batch = await Promise.allSettled([writes.run(insert('INSERT INTO parent (id) VALUES (1)')), writes.run(insert('INSERT INTO child (parent) VALUES (2)'))]);
      expect(batch.map((outcome) => outcome.status)).toEqual(['rejected', 'rejected']);
      await writes.run(insert('INSERT INTO parent (id) VALUES (3)'));
      expect(db.prepare('SELECT id FROM parent').pluck().all()).toEqual([3]);
      expect(db.prepare('SELECT count(*) FROM child').pluck().get()).toBe(0);
    } finally {
      db.close();
    }
  });

  test('FULL: a commit that fails as a whole at the end of an fsync still lets the commit made while it ran have an fsync of its own', async () => {
    const file = path.join(dataDir, 'commit-failure-during-fsync.db');
    const db = new Database(file);
    db.pragma('journal_mode = WAL');
    db.pragma('foreign_keys = ON');
    db.exec(`CREATE TABLE parent (id INTEGER PRIMARY KEY);
             CREATE TABLE child (parent INTEGER REFERENCES parent (id) DEFERRABLE INITIALLY DEFERRED)`);
    // The log's fsyncs, each held until the test lets it return.
    const syncs: Array<() => void> = [];
    const log: FileSync = { sync: () => new Promise<void>((resolve) => syncs.push(resolve)), close: () => undefined };
    const writes = new GroupCommit(db, () => undefined, () => undefined, log);
    const insert = (sql: string) => () => db.prepare(sql).run();
    try {
      const first = writes.run(insert('INSERT INTO parent (id) VALUES (1)'));
      await turns(() => syncs.length > 0);
      const second = writes.run(insert('INSERT INTO parent (id) VALUES (2)'));
      await turns(() => writes.stats.commits === 2);
      expect({ commits: writes.stats.commits, syncs: syncs.length }).toEqual({ commits: 2, syncs: 1 });
      // Asked for in the turn the fsync returns: it commits then, and its COMMIT fails (a deferred foreign key).
      const failing = writes.run(insert('INSERT INTO child (parent) VALUES (99)'));
      syncs[0]();
      await first;
      await expect(failing).rejects.toMatchObject({ code: 'SQLITE_CONSTRAINT_FOREIGNKEY' });
      await turns(() => syncs.length > 1);
      expect(syncs).toHaveLength(2);
      syncs[1]();
      await second;
      expect(db.prepare('SELECT id FROM parent').pluck().all()).toEqual([1, 2]);
    } finally {
      db.close();
    }
  });
});
