// The test files that exercise the mutated modules in this process. Tests
// that spawn the compiled gateway (crash-load, durability, push-crash, CLI)
// run dist/, which a mutant never reaches, so they are left to `npm test`.
// The mutated modules are SQLite's and queue/'s: the sqlite project's
// settings, as one configuration without projects (their testMatch would win
// over this one's), and no global setup, so no PostgreSQL server either.
const { projects, ...base } = require('../../jest.config.js');
const sqlite = projects.find((project) => project.displayName === 'sqlite');

/** @type {import('jest').Config} */
module.exports = {
  ...base,
  ...sqlite,
  rootDir: '../..',
  globalSetup: undefined,
  globalTeardown: undefined,
  testMatch: [
    '**/test/sqlite-store.test.ts',
    '**/test/fsync-order.test.ts',
    '**/test/receipts.test.ts',
    '**/test/rules.test.ts',
    '**/test/queues-api.test.ts',
    '**/test/groups-api.test.ts',
    '**/test/topics-api.test.ts',
    '**/test/subscriptions-api.test.ts',
    '**/test/sqs-messages.test.ts',
    '**/test/sqs-fifo-redrive.test.ts',
    '**/test/storage-full.test.ts',
  ],
};
