import { randomBytes } from 'node:crypto';
import { Client, escapeIdentifier } from 'pg';
import { createDatabase, type Database, findServerBinaries, type PostgresServer, startPostgres } from '../../bench/postgresServer';

/**
 * The PostgreSQL server of a jest run: started by test/globalSetup.ts and
 * stopped by test/globalTeardown.ts, its URL handed to the test workers in
 * MQGATE_TEST_PG_URL. A URL already set names a server to use instead (a
 * developer's `npm run pg:server`, or any other): then nothing is started.
 * Each test file makes a database of its own on it (`createTestDatabase`).
 */
export const URL_VARIABLE = 'MQGATE_TEST_PG_URL';

/** globalSetup and globalTeardown share the jest process, not their modules: the server is kept on globalThis. */
const KEPT = '__mqgateTestPostgres';
type Keeper = typeof globalThis & { [KEPT]?: PostgresServer };

export async function startTestServer(): Promise<void> {
  if (process.env[URL_VARIABLE] !== undefined) return;
  if (findServerBinaries() === null) {
    // Never a skip: the tests of the PostgreSQL backend cannot run without a server, so the run fails.
    throw new Error(
      process.env.CI === 'true'
        ? "PostgreSQL's server programs are missing on CI: test/system-packages.sh (npm test's pretest) installs the Debian package postgresql"
        : `PostgreSQL's server programs are missing: install the Debian package (apt-get install postgresql), or set ${URL_VARIABLE} to a server's URL`,
    );
  }
  const server = await startPostgres();
  (globalThis as Keeper)[KEPT] = server;
  process.env[URL_VARIABLE] = server.url;
}

export async function stopTestServer(): Promise<void> {
  const keeper = globalThis as Keeper;
  const server = keeper[KEPT];
  if (server === undefined) return;
  delete keeper[KEPT];
  // Only the URL this run set: a watch run's next globalSetup then starts a server again.
  delete process.env[URL_VARIABLE];
  await server.stop();
}

/** A database of one test file. */
export type TestDatabase = Database;

/** A fresh, empty database with a random name on the run's server. */
export async function createTestDatabase(): Promise<TestDatabase> {
  const serverUrl = process.env[URL_VARIABLE];
  if (serverUrl === undefined) throw new Error(`${URL_VARIABLE} is not set: jest's globalSetup (test/globalSetup.ts) sets it`);
  return createDatabase(serverUrl, 'mqgate_test');
}

/**
 * A fresh schema (`<prefix>_<random>`) in the database at `url`, and a URL
 * whose connections use it: the gateways given it keep their tables there.
 */
export async function freshSchemaUrl(url: string, prefix: string): Promise<string> {
  const schema = escapeIdentifier(`${prefix}_${randomBytes(6).toString('hex')}`);
  const admin = new Client({ connectionString: url });
  await admin.connect();
  try {
    // The gateway's migrations create its tables in the schema a URL's search_path names, not the schema itself.
    await admin.query(`CREATE SCHEMA ${schema}`);
  } finally {
    await admin.end();
  }
  const withSchema = new URL(url);
  withSchema.searchParams.set('options', `-c search_path=${schema}`);
  return withSchema.toString();
}

/** What `promise` was rejected with; fails the test if it was fulfilled. */
export async function failure(promise: Promise<unknown>): Promise<unknown> {
  try {
    await promise;
  } catch (error) {
    return error;
  }
  throw new Error('expected a failure');
}
