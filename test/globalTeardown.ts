import { stopTestServer } from './support/testPostgres';

/** Stops the PostgreSQL server globalSetup started for the run (none when MQGATE_TEST_PG_URL named one), and removes its files. */
export default async function globalTeardown(): Promise<void> {
  await stopTestServer();
}
