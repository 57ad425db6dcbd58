import { execFile } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { packagePath } from '../persistence/packagePath';
import { tempDir } from './support/testGateway';

/** One problem of `redocly lint --format json`. */
interface LintProblem {
  ruleId: string;
  severity: 'error' | 'warn';
  message: string;
  location: { source: { ref: string }; pointer: string; start?: { line: number; col: number } }[];
}

interface LintReport {
  totals: { errors: number; warnings: number; ignored: number };
  problems: LintProblem[];
}

interface LintRun {
  /** Null when the linter printed no report (it failed to start, or its config is invalid). */
  report: LintReport | null;
  /** Whether it exited 0 within the time limit. */
  exitedCleanly: boolean;
  /** What a person would read: the problems one a line, then the linter's own output. */
  output: string;
}

// Generous for a linter that takes about a second: a run that needs the network would hang, and must fail instead.
const LINT_TIMEOUT_MS = 15_000;

function isLintReport(value: unknown): value is LintReport {
  if (typeof value !== 'object' || value === null) return false;
  const { totals, problems } = value as Partial<LintReport>;
  return typeof totals?.errors === 'number' && typeof totals.warnings === 'number' && Array.isArray(problems);
}

function describeProblem(problem: LintProblem): string {
  const [where] = problem.location;
  const at = where?.start === undefined ? '' : `:${where.start.line}:${where.start.col}`;
  return `${where?.source.ref ?? '?'}${at} ${problem.severity} ${problem.ruleId}: ${problem.message} (${where?.pointer ?? ''})`;
}

/**
 * Runs `redocly lint` on one file with the repository's redocly.yaml, offline:
 * no telemetry, no update check, and a time limit so a hang fails the test.
 */
function lint(file: string): Promise<LintRun> {
  const cli = packagePath('node_modules', '@redocly', 'cli', 'bin', 'cli.js');
  const args = [cli, 'lint', file, '--config', packagePath('redocly.yaml'), '--lint-config', 'error', '--format', 'json'];
  const env = { ...process.env, REDOCLY_TELEMETRY: 'off', REDOCLY_SUPPRESS_UPDATE_NOTICE: 'true', NO_COLOR: '1', FORCE_COLOR: '0' };
  return new Promise((resolve) => {
    execFile(process.execPath, args, { cwd: packagePath(), env, timeout: LINT_TIMEOUT_MS }, (exit, stdout, stderr) => {
      let parsed: unknown = null;
      try {
        parsed = JSON.parse(stdout);
      } catch {
        // No report: the output below says why.
      }
      const report = isLintReport(parsed) ? parsed : null;
      const lines = [
        ...(report?.problems.map(describeProblem) ?? []),
        exit === null ? '' : `linter failed: ${exit.message}`,
        report === null ? stdout : '',
        stderr,
      ];
      resolve({ report, exitedCleanly: exit === null, output: lines.filter((line) => line !== '').join('\n') });
    });
  });
}

/** Why a lint run fails the build, with the linter's output; null when it found nothing. */
function failure({ report, exitedCleanly, output }: LintRun): string | null {
  if (exitedCleanly && report !== null && report.totals.errors === 0 && report.totals.warnings === 0) return null;
  return `redocly lint found problems:\n${output}`;
}

test('openapi.yaml passes redocly lint (recommended rules) with no error and no warning', async () => {
  const problems = failure(await lint('openapi.yaml'));
  if (problems !== null) throw new Error(problems);
});

/** A small valid spec with one mistake the recommended rules only warn about (exit code 0): `things` is required, `items` declared. */
const SPEC_WITH_A_WARNING = `openapi: 3.1.0
info:
  title: lint check
  version: 1.0.0
  license:
    name: MIT
    identifier: MIT
servers:
  - url: http://127.0.0.1:8080
security: []
paths:
  /things:
    get:
      operationId: getThings
      summary: Things.
      responses:
        '200':
          description: The things.
          content:
            application/json:
              schema:
                type: object
                required: [things]
                properties:
                  items:
                    type: array
        '400':
          description: Bad request.
`;

test('a warning alone fails the lint check, so the test above can fail', async () => {
  const dir = tempDir('mqgate-lint-');
  const file = path.join(dir, 'warned.yaml');
  fs.writeFileSync(file, SPEC_WITH_A_WARNING);
  try {
    const run = await lint(file);
    expect(run.report?.totals).toEqual({ errors: 0, warnings: 1, ignored: 0 });
    expect(failure(run)).toMatch(/warned\.yaml:23:\d+ warn no-required-schema-properties-undefined: Required property 'things' is not defined\./);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});
