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

/** What became of one fault in its scratch copy. */
function tryFault(fault) {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'mqgate-fault-'));
  git('worktree', 'add', '--detach', '--quiet', dir, 'HEAD');
  try {
    fs.symlinkSync(path.join(root, 'node_modules'), path.join(dir, 'node_modules'), 'dir');
    const file = path.join(dir, fault.file);
    const source = fs.readFileSync(file, 'utf8');
    const found = source.split(fault.find).length - 1;
    if (found !== 1) return `NOT APPLIED: the text occurs ${found} times in ${fault.file}`;
    fs.writeFileSync(file, source.replace(fault.find, fault.replace));
    const typecheck = run(dir, process.execPath, [require.resolve('typescript/bin/tsc', { paths: [root] }), '-p', 'tsconfig.json', '--noEmit']);
    if (typecheck.status !== 0) return `DOES NOT COMPILE: ${typecheck.stdout.toString().split('\n')[0]}`;
    const jest = run(dir, process.execPath, [require.resolve('jest/bin/jest', { paths: [root] }), ...fault.tests]);
    const failed = (jest.stderr.toString().match(/^FAIL (\S+)/gm) ?? []).map((line) => line.slice(5));
    return jest.status === 0 ? 'MISSED: every test passed' : `caught by ${[...new Set(failed)].join(', ')}`;
  } finally {
    git('worktree', 'remove', '--force', dir);
  }
}

let caught = 0;
for (const fault of chosen) {
  const outcome = tryFault(fault);
  if (outcome.startsWith('caught')) caught += 1;
  console.log(`${outcome.startsWith('caught') ? 'ok  ' : 'FAIL'} ${fault.name}: ${outcome}`);
}
console.log(`\n${caught} of ${chosen.length} faults caught`);
process.exitCode = caught === chosen.length ? 0 : 1;
