/**
 * The setupFiles module of jest.config.js's `postgres` project: it runs in
 * each test file's environment before the file, so that the file's test
 * gateways open their stores on the run's PostgreSQL server
 * (test/support/testStore.ts) and its gateway processes are started with
 * `--store` (test/support/childGateway.ts). The environment's process.env is
 * the file's own copy: the `sqlite` project's files, in the same workers,
 * never see it.
 */
process.env.MQGATE_TEST_STORE = 'postgres';
