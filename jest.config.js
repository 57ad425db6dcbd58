// The AWS SDK warns once per process that its releases after January 2027 need Node 22; the
// project runs on Node 20 with the SDK version package-lock.json holds, so the SQS tests would only repeat it.
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED = 'true';

/** @type {import('jest').Config} */
module.exports = {
  testEnvironment: 'node',
  roots: ['<rootDir>/test'],
  testMatch: ['**/*.test.ts'],
  // Tests spawn the compiled gateway: build it from the current sources first; and start the run's PostgreSQL server.
  globalSetup: '<rootDir>/test/globalSetup.ts',
  globalTeardown: '<rootDir>/test/globalTeardown.ts',
  transform: { '^.+\\.ts$': 'ts-jest' },
  testTimeout: 30000,
};
