import type { Pool } from 'pg';
import { StoreError } from '../persistence/errors';
import { createPool, listen, transaction } from '../persistence/postgres/connection';
import { interpretError } from '../persistence/postgres/interpretError';
import { migrate, pendingMigrations } from '../persistence/postgres/migrate';
import { createReceiptSecret, receiptSecret } from '../persistence/postgres/receiptSecret';
import { freePort, startPostgres } from '../bench/postgresServer';
import { createTestDatabase, failure, type TestDatabase } from './support/testPostgres';

/**
 * The ground the PostgreSQL backend stands on, against the run's server
 * (test/globalSetup.ts): migrations, the transaction runner's mapping of
 * failures to StoreErrors, the receipt secret, the self-healing listener.
 * One fresh database for the file.
 */

let database: TestDatabase;
const pools: Pool[] = [];

function pool(url = database.url): Pool {
  const made = createPool({ url, poolSize: 4, connectTimeoutMs: 2000 });
  pools.push(made);
  return made;
}

beforeAll(async () => {
  database = await createTestDatabase();
});

afterAll(async () => {
  await Promise.all(pools.map((each) => each.end()));
  await database.drop();
});


function storeFailure(error: unknown): StoreError['failure'] {
  expect(error).toBeInstanceOf(StoreError);
  return (error as StoreError).failure;
}

describe('migrations', () => {
  test('apply on an empty database, and two gateways migrating at once apply each migration once', async () => {
    const first = pool();
    const second = pool();
    expect(await pendingMigrations(first)).toBe(8);
    const applied = await Promise.all([migrate(first), migrate(second)]);
    // One of the two applied everything; the other waited for its lock, then found nothing to do.
    expect(applied.flat()).toEqual([1, 2, 3, 4, 5, 6, 7, 8]);
    expect(applied.some((versions) => versions.length === 0)).toBe(true);
    expect(await pendingMigrations(first)).toBe(0);
    expect(await pendingMigrations(second)).toBe(0);
    const { rows } = await first.query<{ version: number; name: string }>('SELECT version, name FROM schema_migrations ORDER BY version');
    expect(rows).toEqual([
      { version: 1, name: '001_init.sql' },
      { version: 2, name: '002_leases.sql' },
      { version: 3, name: '003_position_holders.sql' },
      { version: 4, name: '004_api_keys.sql' },
      { version: 5, name: '005_sqs_queue_attributes.sql' },
      { version: 6, name: '006_moved_ids_and_running_move_tasks.sql' },
      { version: 7, name: '007_schemas.sql' },
      { version: 8, name: '008_fifo_group_indexes.sql' },
    ]);
    expect(await migrate(first)).toEqual([]);
  });

  test('the stats counters follow inserts and deletes of deliveries, and refuse a change of a row they counted', async () => {
    const db = pool();
    await migrate(db);
    const subscription = await transaction(db, async (tx) => {
      const topic = await tx.query<{ id: number }>(
        `INSERT INTO topics (name, kind, partitions, max_message_bytes, created_at, updated_at)
         VALUES ('counted', 'queue', 1, 1024, 0, 0) RETURNING id`,
      );
      const made = await tx.query<{ id: number }>(
        `INSERT INTO subscriptions (topic_id, name, visibility_timeout_ms, delay_ms) VALUES ($1, '$queue', 30000, 0) RETURNING id`,
        [topic.rows[0].id],
      );
      return made.rows[0].id;
    });
    const counts = async (): Promise<{ waiting: number; waiting_bytes: number }> =>
      (await db.query<{ waiting: number; waiting_bytes: number }>('SELECT waiting, waiting_bytes FROM subscriptions WHERE id = $1', [subscription]))
        .rows[0];
    await db.query(
      'INSERT INTO deliveries (subscription_id, message_id, available_at, bytes) SELECT $1, n, 0, 10 * n FROM generate_series(1, 5) AS n',
      [subscription],
    );
    expect(await counts()).toEqual({ waiting: 5, waiting_bytes: 150 });
    await db.query('DELETE FROM deliveries WHERE subscription_id = $1 AND message_id <= 2', [subscription]);
    expect(await counts()).toEqual({ waiting: 3, waiting_bytes: 120 });
    // A redrive's insert that finds its row already there counts nothing.
    await db.query(
      'INSERT INTO deliveries (subscription_id, message_id, available_at, bytes) VALUES ($1, 3, 0, 30) ON CONFLICT DO NOTHING',
      [subscription],
    );
    expect(await counts()).toEqual({ waiting: 3, waiting_bytes: 120 });
    await expect(db.query('UPDATE deliveries SET bytes = 1 WHERE subscription_id = $1', [subscription])).rejects.toThrow(/never change/);
    await expect(
      db.query('INSERT INTO deliveries (subscription_id, message_id, available_at, bytes) VALUES ($1, 9, 0, NULL)', [subscription]),
    ).rejects.toThrow(/null value/);
    expect(await counts()).toEqual({ waiting: 3, waiting_bytes: 120 });
  });
});

describe('failures as StoreErrors', () => {
  test('a server that cannot be reached is storage_unavailable, refused', async () => {
    const unreachable = pool(`postgres://postgres@127.0.0.1:${await freePort()}/mqgate`);
    const error = await failure(transaction(unreachable, (tx) => tx.query('SELECT 1')));
    expect(storeFailure(error)).toEqual({ code: 'storage_unavailable', state: 'refused' });
    expect((error as StoreError).cause).toMatchObject({ code: 'ECONNREFUSED' });
  });

  test('no space left (SQLSTATE 53100) is storage_full, and nothing of the transaction is kept', async () => {
    const db = pool();
    await db.query(`CREATE TABLE written (n integer);
      CREATE FUNCTION fill_the_disk() RETURNS void LANGUAGE plpgsql AS $$
      BEGIN
        RAISE EXCEPTION 'could not extend file: No space left on device' USING ERRCODE = 'disk_full';
      END
      $$;`);
    const error = await failure(
      transaction(db, async (tx) => {
        await tx.query('INSERT INTO written VALUES (1)');
        await tx.query('SELECT fill_the_disk()');
      }),
    );
    expect(storeFailure(error)).toEqual({ code: 'storage_full' });
    expect((await db.query('SELECT count(*)::integer AS n FROM written')).rows[0]).toEqual({ n: 0 });
    // The connection went back to the pool in working order.
    expect((await transaction(db, (tx) => tx.query('SELECT 1 AS one'))).rows).toEqual([{ one: 1 }]);
  });

  test('a session ended before COMMIT is refused; one ended while COMMIT runs is unconfirmed', async () => {
    const db = pool();
    const admin = pool();
    // A deferred constraint trigger runs at COMMIT: its pg_sleep holds the COMMIT open long enough to end the session.
    await db.query(`CREATE TABLE slow_commit (n integer);
      CREATE FUNCTION sleep_at_commit() RETURNS trigger LANGUAGE plpgsql AS $$
      BEGIN
        PERFORM pg_sleep(10);
        RETURN NULL;
      END
      $$;
      CREATE CONSTRAINT TRIGGER slow_commit_sleeps AFTER INSERT ON slow_commit DEFERRABLE INITIALLY DEFERRED
        FOR EACH ROW EXECUTE FUNCTION sleep_at_commit();`);
    const terminateWhen = async (state: RegExp): Promise<void> => {
      for (;;) {
        const { rows } = await admin.query<{ ended: boolean }>(
          `SELECT pg_terminate_backend(pid) AS ended FROM pg_stat_activity
            WHERE datname = current_database() AND state = 'active' AND pid <> pg_backend_pid() AND query ~ $1`,
          [state.source],
        );
        if (rows.some((row) => row.ended)) return;
        await new Promise((resolve) => setTimeout(resolve, 20));
      }
    };

    // Caught from the start: the failure can come before the termination's own answer does.
    const beforeCommit = failure(
      transaction(db, async (tx) => {
        await tx.query('INSERT INTO slow_commit VALUES (1)');
        await tx.query('SELECT pg_sleep(10) AS waiting_in_work');
      }),
    );
    await terminateWhen(/waiting_in_work/);
    expect(storeFailure(await beforeCommit)).toEqual({ code: 'storage_unavailable', state: 'refused' });

    const duringCommit = failure(transaction(db, (tx) => tx.query('INSERT INTO slow_commit VALUES (2)')));
    await terminateWhen(/^COMMIT$/);
    expect(storeFailure(await duringCommit)).toEqual({ code: 'storage_unavailable', state: 'unconfirmed' });
    expect((await db.query('SELECT count(*)::integer AS n FROM slow_commit')).rows[0]).toEqual({ n: 0 });
  });

  test('a serialization failure is run again; a constraint violation is the caller’s, unchanged', async () => {
    const db = pool();
    await db.query('CREATE TABLE once (n integer PRIMARY KEY)');
    let runs = 0;
    const result = await transaction(db, async (tx) => {
      runs += 1;
      if (runs === 1) await tx.query(`DO $$ BEGIN RAISE EXCEPTION 'conflict' USING ERRCODE = 'serialization_failure'; END $$`);
      return runs;
    });
    expect(result).toBe(2);
    await db.query('INSERT INTO once VALUES (1)');
    const duplicate = await failure(transaction(db, (tx) => tx.query('INSERT INTO once VALUES (1)')));
    expect(duplicate).not.toBeInstanceOf(StoreError);
    expect(duplicate).toMatchObject({ code: '23505' });
    // What the work itself throws passes through.
    const refusal = new StoreError({ code: 'queue_not_found', queue: 'q' });
    expect(await failure(transaction(db, () => Promise.reject(refusal)))).toBe(refusal);
  });

  test('read-only, shutting down and out of memory map by their SQLSTATEs', async () => {
    const db = pool();
    const raised = async (condition: string): Promise<unknown> =>
      failure(db.query(`DO $$ BEGIN RAISE EXCEPTION 'raised' USING ERRCODE = '${condition}'; END $$`));
    expect(storeFailure(interpretError(await raised('read_only_sql_transaction'), { commitSent: true }))).toEqual({
      code: 'storage_unavailable',
      state: 'refused',
    });
    expect(storeFailure(interpretError(await raised('admin_shutdown'), { commitSent: true }))).toEqual({
      code: 'storage_unavailable',
      state: 'unconfirmed',
    });
    expect(storeFailure(interpretError(await raised('cannot_connect_now'), { commitSent: false }))).toEqual({
      code: 'storage_unavailable',
      state: 'refused',
    });
    expect(storeFailure(interpretError(await raised('too_many_connections'), { commitSent: false }))).toEqual({
      code: 'storage_unavailable',
      state: 'refused',
    });
    expect(storeFailure(interpretError(await raised('out_of_memory'), { commitSent: false }))).toEqual({ code: 'storage_full' });
    const division = await failure(db.query('SELECT 1 / 0'));
    expect(interpretError(division, { commitSent: false })).toBe(division);
  });

  test('a NUL in text, which PostgreSQL cannot hold, is text_unstorable (a client error), not a fault', async () => {
    const db = pool();
    const nul = await failure(db.query('SELECT $1::text', ['a\u0000b']));
    expect(storeFailure(interpretError(nul, { commitSent: false }))).toEqual({ code: 'text_unstorable' });
  });
});

describe('values', () => {
  test('bigint comes back as a number, and one a number cannot hold exactly fails instead of rounding', async () => {
    const db = pool();
    expect((await db.query('SELECT 9007199254740991::bigint AS largest, NULL::bigint AS none')).rows).toEqual([
      { largest: Number.MAX_SAFE_INTEGER, none: null },
    ]);
    await expect(db.query('SELECT 9007199254740993::bigint AS beyond')).rejects.toThrow(RangeError);
  });
});

describe('a server of its own', () => {
  test('after an immediate shutdown calls are refused; restarted, the same pool works on, and what committed is there', async () => {
    const server = await startPostgres();
    try {
      const db = pool(server.url);
      await migrate(db);
      await transaction(db, createReceiptSecret);
      const secret = await receiptSecret(db);
      await server.crash();
      expect(server.pid()).toBeNull();
      expect(storeFailure(await failure(transaction(db, receiptSecret)))).toEqual({ code: 'storage_unavailable', state: 'refused' });
      await server.restart();
      expect(await transaction(db, receiptSecret)).toEqual(secret);
      expect(await pendingMigrations(db)).toBe(0);
    } finally {
      await server.stop();
    }
  });
});

describe('receipt secret', () => {
  test('is made once, 32 random bytes, the same through every pool', async () => {
    const first = pool();
    const second = pool();
    await migrate(first);
    await Promise.all([transaction(first, createReceiptSecret), transaction(second, createReceiptSecret)]);
    const secret = await receiptSecret(first);
    expect(secret).toBeInstanceOf(Buffer);
    expect(secret).toHaveLength(32);
    expect(await receiptSecret(second)).toEqual(secret);
    await transaction(second, createReceiptSecret);
    expect(await receiptSecret(second)).toEqual(secret);
  });
});

describe('listener', () => {
  test('hears notifications, and after its session is ended connects and listens again by itself', async () => {
    const db = pool();
    const heard: string[] = [];
    let listening = 0;
    const listener = listen({
      url: database.url,
      channels: ['mqgate test'],
      applicationName: 'mqgate-test-listener',
      retryDelayMs: 20,
      onNotification: (channel, payload) => heard.push(`${channel}: ${payload}`),
      onListening: () => {
        listening += 1;
      },
    });
    try {
      const until = async (done: () => boolean): Promise<void> => {
        while (!done()) await new Promise((resolve) => setTimeout(resolve, 20));
      };
      await until(() => listening === 1);
      await db.query(`SELECT pg_notify('mqgate test', 'one')`);
      await until(() => heard.length === 1);
      await db.query(`SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = 'mqgate-test-listener'`);
      await until(() => listening === 2);
      await db.query(`SELECT pg_notify('mqgate test', 'two')`);
      await until(() => heard.length === 2);
      expect(heard).toEqual(['mqgate test: one', 'mqgate test: two']);
    } finally {
      await listener.close();
    }
  });
});
