#!/usr/bin/env node
// `npm run test:faults`: puts each fault of faults.json into a scratch copy of
// the last commit, one at a time, and runs the test files named with it; a
// fault that no test catches (or that no longer applies, or does not compile,
// which would be caught for the wrong reason) fails the run. Slow (minutes):
// not part of `npm test`. FAULTS=<part of a name> runs the matching ones only.
'use strict';
const { execFileSync, spawnSync } = require('node:child_process');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');

const root = path.resolve(__dirname, '..', '..');
/** @type {{ faults: Array<{ name: string, file: string, find: string, replace: string, tests: string[] }> }} */
const { faults } = JSON.parse(fs.readFileSync(path.join(__dirname, 'faults.json'), 'utf8'));
const only = process.env.FAULTS;
const chosen = only === undefined ? faults : faults.filter((fault) => fault.name.includes(only));

const git = (...args) => execFileSync('git', ['-C', root, ...args], { stdio: 'pipe' }).toString();
const run = (cwd, command, args) => spawnSync(command, args, { cwd, stdio: 'pipe', env: { ...process.env, CI: 'true' } });

const results = [];
for (const fault of chosen) {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'mqgate-fault-'));
  git('worktree', 'add', '--detach', '--quiet', dir, 'HEAD');
  try {
    fs.symlinkSync(path.join(root, 'node_modules'), path.join(dir, 'node_modules'), 'dir');
    const file = path.join(dir, fault.file);
    const source = fs.readFileSync(file, 'utf8');
    const found = source.split(fault.find).length - 1;
    if (found !== 1) {
      results.push({ name: fault.name, outcome: `NOT APPLIED: the text occurs ${found} times in ${fault.file}` });
      continue;
    }
    fs.writeFileSync(file, source.replace(fault.find, fault.replace));
    const typecheck = run(dir, process.execPath, [require.resolve('typescript/bin/tsc', { paths: [root] }), '-p', 'tsconfig.json', '--noEmit']);
    if (typecheck.status !== 0) {
      results.push({ name: fault.name, outcome: `DOES NOT COMPILE: ${typecheck.stdout.toString().split('\n')[0]}` });
      continue;
    }
    const jest = run(dir, process.execPath, [require.resolve('jest/bin/jest', { paths: [root] }), ...fault.tests]);
    const failed = (jest.stderr.toString().match(/^FAIL (\S+)/gm) ?? []).map((line) => line.slice(5));
    results.push({ name: fault.name, outcome: jest.status === 0 ? 'MISSED: every test passed' : `caught by ${[...new Set(failed)].join(', ')}` });
  } finally {
    git('worktree', 'remove', '--force', dir);
  }
  console.log(`${results.at(-1).outcome.startsWith('caught') ? 'ok  ' : 'FAIL'} ${fault.name}: ${results.at(-1).outcome}`);
}
const bad = results.filter((result) => !result.outcome.startsWith('caught'));
console.log(`\n${results.length - bad.length} of ${results.length} faults caught`);
process.exitCode = bad.length === 0 ? 0 : 1;
