import { randomBytes } from 'node:crypto';
import { Client } from 'pg';
import { PostgresStore } from '../persistence/postgres/postgresStore';
import { rules } from '../queue/rules';
import { describeStoreContract } from './store-contract';
import { message, opts, settings, T0 } from './store-contract/fixtures';
import { createTestDatabase, type TestDatabase } from './support/testPostgres';

let database: TestDatabase;
beforeAll(async () => {
  database = await createTestDatabase();
});
afterAll(() => database.drop());

/** A store in a schema of its own on this file's database, as the gateway opens it (queue/'s rules). */
function openStore(schema: string): PostgresStore {
  return new PostgresStore({ url: database.url, schema, rules, poolSize: 4 });
}

describeStoreContract('postgres', async () => {
  const schema = `contract_${randomBytes(6).toString('hex')}`;
  let store = openStore(schema);
  return {
    store,
    async reopen() {
      await store.close();
      store = openStore(schema);
      return store;
    },
    async cleanup() {
      await store.close();
    },
  };
});

test("leases run out by the database's clock, and outlive a store opened again: other processes may hold them", async () => {
  const schema = `leases_${randomBytes(6).toString('hex')}`;
  const [a, b] = [openStore(schema), openStore(schema)];
  try {
    expect(await a.holdLeases({ names: ['sweeper'], holder: 'a', ttlMs: 60_000, now: 0 })).toEqual(['sweeper']);
    // No caller's clock, however far ahead, takes a lease early.
    expect(await b.holdLeases({ names: ['sweeper'], holder: 'b', ttlMs: 60_000, now: Number.MAX_SAFE_INTEGER / 2 })).toEqual([]);
  } finally {
    await Promise.all([a.close(), b.close()]);
  }
  const reopened = openStore(schema);
  try {
    expect(await reopened.holdLeases({ names: ['sweeper'], holder: 'b', ttlMs: 60_000, now: 0 })).toEqual([]);
  } finally {
    await reopened.close();
  }
});

test("migration 008 takes standard queues' deliveries out of the group indexes and gives a FIFO queue's group-less ones ''", async () => {
  const schema = `regroup_${randomBytes(6).toString('hex')}`;
  let store = openStore(schema);
  const client = new Client({ connectionString: database.url });
  await client.connect();
  // Each queue's deliveries as (group_id, message group) pairs, straight from the database.
  const groups = async (): Promise<Array<[string, string | null, string | null]>> => {
    const { rows } = await client.query<{ name: string; group_id: string | null; message_group: string | null }>(
      `SELECT t.name, d.group_id, m.group_id AS message_group FROM deliveries d
         JOIN subscriptions s ON s.id = d.subscription_id JOIN topics t ON t.id = s.topic_id
         JOIN messages m ON m.id = d.message_id ORDER BY t.name, d.message_id`,
    );
    return rows.map((row) => [row.name, row.group_id, row.message_group]);
  };
  try {
    await client.query(`SET search_path TO "${schema}"`);
    await store.putQueue({ name: 'f', settings: settings({ ordering: 'fifo' }), now: T0 });
    await store.putQueue({ name: 'q', settings: settings(), now: T0 });
    const grouped = [message('a', { group: 'g' }), message('b')];
    await store.produce({ queue: 'f', messages: grouped, ...opts() });
    await store.produce({ queue: 'q', messages: grouped, ...opts() });
    await store.close();
    // The database as the release before 008 left it: every delivery with its message's group, the indexes whole.
    await client.query(`UPDATE deliveries d SET group_id = m.group_id FROM messages m WHERE m.id = d.message_id;
                        DROP INDEX deliveries_by_group;
                        DROP INDEX deliveries_leased_by_group;
                        CREATE INDEX deliveries_by_group ON deliveries (subscription_id, group_id, message_id);
                        CREATE INDEX deliveries_leased_by_group ON deliveries (subscription_id, group_id, available_at) WHERE leased;
                        DELETE FROM schema_migrations WHERE version = 8;`);
    expect(await groups()).toEqual([['f', 'g', 'g'], ['f', null, null], ['q', 'g', 'g'], ['q', null, null]]);
    store = openStore(schema);
    const leased = await store.claim({ from: { queue: 'f' }, max: 10, now: T0, visibilityTimeoutMs: 1000 });
    expect(leased.leases.map((l) => l.message.value.toString())).toEqual(['a', 'b']);
    expect(await groups()).toEqual([['f', 'g', 'g'], ['f', '', null], ['q', null, 'g'], ['q', null, null]]);
  } finally {
    await store.close();
    await client.end();
  }
});
