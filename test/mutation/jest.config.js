// The test files that exercise the mutated modules in this process. Tests
// that spawn the compiled gateway (crash-load, durability, push-crash, CLI)
// run dist/, which a mutant never reaches, so they are left to `npm test`.
const base = require('../../jest.config.js');

/** @type {import('jest').Config} */
module.exports = {
  ...base,
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
