import { execFileSync } from 'node:child_process';
import { packagePath } from '../persistence/packagePath';
import { startTestServer } from './support/testPostgres';

/**
 * Builds dist/ before any test runs, however jest is started (`npm test` or
 * `npx jest test/crash-load.test.ts`): the crash, durability, push and CLI
 * tests spawn the compiled gateway, dist/api/main.js, and must run the
 * sources as they are now. `tsc -b` is incremental: when nothing changed it
 * only reads its build info. A build error fails the run before any test.
 *
 * Then starts the run's PostgreSQL server for the tests of the PostgreSQL
 * backend, unless MQGATE_TEST_PG_URL names one (test/support/testPostgres.ts);
 * globalTeardown.ts stops it. If jest itself is killed, the server shuts down
 * with it (bench/postgresServer.ts).
 */
export default async function globalSetup(): Promise<void> {
  execFileSync(process.execPath, [require.resolve('typescript/bin/tsc'), '-b', packagePath('tsconfig.build.json')], { stdio: 'inherit' });
  await startTestServer();
}
