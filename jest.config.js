// The AWS SDK warns once per process that its releases after January 2027 need Node 22; the
// project runs on Node 20 with the SDK version package-lock.json holds, so the SQS tests would only repeat it.
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED = 'true';

/**
 * The suites that run a second time on PostgreSQL: every one whose gateways
 * keep data in a store (test gateways through test/support/testStore.ts,
 * gateway processes and in-process gateways through storeFlags in
 * test/support/childGateway.ts). docs/architecture.md ("Tests on each
 * backend") lists them too. The others run on SQLite only:
 *
 * SQLite's own, by nature:
 * - sqlite-store: the store contract and the tests of SQLite's files, pragmas and group commit.
 * - stats-counters: checks the counters SQLite's triggers keep against a recount of its rows (migration 008).
 * - fsync-order: holds SQLite's fsync of its log to see which answers wait for it, and fails it (what a
 *   store that cannot confirm a write answers, SOAP callers included).
 * - storage-full: SQLite's file cap (maxStorageBytes); a PostgreSQL server's disk is not the gateway's to cap.
 * - durability, shutdown, crash-load: read SQLite's files after a SIGKILL or a SIGTERM (its log, its
 *   checkpoint); PostgreSQL's crashes are test/postgres-crash.test.ts's.
 * - postgres-*: the tests of the PostgreSQL backend itself pick their backend (a database of their
 *   own); listed here they would only run twice.
 * - keys-reload: its keys live in a file (keys kept in the store are postgres-keys's); what its gateways
 *   ask of the store is what queues-api asks, which runs on both.
 *
 * Clients of a protocol, whose store work is another suite's (kept to SQLite so the run stays within 15 minutes):
 * - sqs-legacy-clients, sqs-query: the SQS query protocol as the legacy SDKs and the wire see it; the same
 *   actions over JSON 1.0 (sqs-queues, sqs-messages, sqs-fifo-redrive, sqs-attributes, sqs-move-tasks) run on both.
 * - soap-clients: real SOAP clients (zeep); what SOAP calls do in the store is soap's, which runs on both.
 * - dashboard: the pages in Chromium; what they read is the API's (queues-api, topics-api), which runs on both.
 *
 * Without a store, so the same on either backend: config (settings), layers (imports), spec-lint
 * (openapi.yaml), and pages, partitioner, push-rules, rules, schema-compatibility and store-errors (functions tested alone).
 */
const POSTGRES_SUITES = [
  'auth',
  'body-budget',
  'browser-origins',
  'cli',
  'contract',
  'docs',
  'errors',
  'fuzz',
  'group-streams',
  'groups-api',
  'health',
  'http-edges',
  'keys-cli',
  'log-output',
  'logging',
  'metrics',
  'push-api',
  'push-crash',
  'queues-api',
  'readme',
  'receipts',
  'request-reply',
  'retention',
  'schemas',
  'sdk',
  'soap',
  'sqs-attributes',
  'sqs-auth',
  'sqs-fifo-redrive',
  'sqs-fuzz',
  'sqs-messages',
  'sqs-move-tasks',
  'sqs-protocol',
  'sqs-queues',
  'stream-tokens',
  'streams',
  'subscriptions-api',
  'topics-api',
];

/** What each project needs to find and compile its tests; jest 29 takes these per project, not from the top level. */
const project = {
  testEnvironment: 'node',
  roots: ['<rootDir>/test'],
  transform: { '^.+\\.ts$': 'ts-jest' },
};

/** @type {import('jest').Config} */
module.exports = {
  // Tests spawn the compiled gateway: build it from the current sources first; and start the run's PostgreSQL
  // server. Once per run, for both projects: jest runs the top level's global setup once.
  globalSetup: '<rootDir>/test/globalSetup.ts',
  globalTeardown: '<rootDir>/test/globalTeardown.ts',
  // A global option in jest 29: inside a project it would be ignored, and tests would get jest's 5 s.
  testTimeout: 30000,
  // Two suites at a time, whatever the machine: jest's default on 2 cores is one, and the suites spend much
  // of their time waiting on gateway processes, PostgreSQL and fsyncs. Measured on 2 cores: 620 s against 989 s.
  maxWorkers: 2,
  projects: [
    { ...project, displayName: 'sqlite', testMatch: ['**/*.test.ts'] },
    {
      ...project,
      displayName: 'postgres',
      testMatch: POSTGRES_SUITES.map((name) => `**/test/${name}.test.ts`),
      setupFiles: ['<rootDir>/test/support/onPostgres.ts'],
    },
  ],
};
