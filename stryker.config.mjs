// Mutation testing of the code where a silent bug loses or duplicates data:
// claiming, settling and leasing messages, appending and producing, consumer
// group fetch and commit, the group commit (fsync batching) and receipts.
// `npm run test:mutation`; docs/mutation.md has the last score and the
// surviving mutants judged equivalent.
/** @type {import('@stryker-mutator/api/core').PartialStrykerOptions} */
export default {
  mutate: [
    'persistence/sqlite/claim.ts',
    'persistence/sqlite/settle.ts',
    'persistence/sqlite/leaseActions.ts',
    'persistence/sqlite/append.ts',
    'persistence/sqlite/produce.ts',
    'persistence/sqlite/produceTopic.ts',
    'persistence/sqlite/fetchGroup.ts',
    'persistence/sqlite/commitGroup.ts',
    'persistence/sqlite/groupCommit.ts',
    'queue/receipts.ts',
    'queue/rules.ts',
    'persistence/rows/settlement.ts',
    'persistence/rows/producedMessages.ts',
    'persistence/rows/appendTarget.ts',
    'persistence/rows/groupOffsets.ts',
    'persistence/rows/groupFetch.ts',
  ],
  testRunner: 'jest',
  jest: { projectType: 'custom', configFile: 'test/mutation/jest.config.js', enableFindRelatedTests: false },
  coverageAnalysis: 'perTest',
  checkers: ['typescript'],
  tsconfigFile: 'tsconfig.json',
  incremental: true,
  incrementalFile: 'test/mutation/stryker-incremental.json',
  reporters: ['clear-text', 'progress', 'html'],
  htmlReporter: { fileName: 'reports/mutation/mutation.html' },
  concurrency: 2,
  timeoutMS: 10000,
  thresholds: { high: 90, low: 80, break: 80 },
  tempDirName: '.stryker-tmp',
  cleanTempDir: 'always',
};
