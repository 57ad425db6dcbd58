import { randomBytes } from 'node:crypto';
import { PostgresStore } from '../persistence/postgres/postgresStore';
import { rules } from '../queue/rules';
import { describeStoreContract } from './store-contract';
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
