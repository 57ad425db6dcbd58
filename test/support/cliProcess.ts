import { type ChildProcess, spawn } from 'node:child_process';
import { packagePath } from '../../persistence/packagePath';

/** How a CLI run ended, and everything it wrote. */
export interface CliResult {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

export interface CliProcess {
  child: ChildProcess;
  /** Resolves once stdout satisfies `ready`; rejects if the process ends first. */
  waitForStdout(ready: (stdout: string) => boolean): Promise<void>;
  done: Promise<CliResult>;
}

export interface CliOptions {
  /** The gateway; sent as MQGATE_URL. None (the commands of the gateway's own side): the variable is unset. */
  url?: string;
  /** Sent as MQGATE_API_KEY; none: the variable is unset. */
  apiKey?: string;
  /** Further variables (MQGATE_STORE, say). */
  env?: Record<string, string>;
  /** Written to stdin, which is then closed; none: stdin is closed at once. */
  stdin?: string;
}

const running = new Set<ChildProcess>();

/** Kills every CLI process a test left running (a failed assertion skips its own wait). */
export function killCliProcesses(): void {
  for (const child of running) child.kill('SIGKILL');
  running.clear();
}

const MAIN = packagePath('dist', 'api', 'main.js');

function start(command: string, args: string[], options: CliOptions): CliProcess {
  const env: NodeJS.ProcessEnv = { ...process.env, ...options.env };
  delete env.MQGATE_URL;
  delete env.MQGATE_API_KEY;
  if (options.url !== undefined) env.MQGATE_URL = options.url;
  if (options.apiKey !== undefined) env.MQGATE_API_KEY = options.apiKey;
  const child = spawn(command, args, { env, stdio: ['pipe', 'pipe', 'pipe'] });
  running.add(child);
  child.stdin.end(options.stdin ?? '');
  let stdout = '';
  let stderr = '';
  const watchers = new Set<() => void>();
  child.stdout.setEncoding('utf8').on('data', (chunk: string) => {
    stdout += chunk;
    for (const watcher of watchers) watcher();
  });
  child.stderr.setEncoding('utf8').on('data', (chunk: string) => {
    stderr += chunk;
  });
  const done = new Promise<CliResult>((resolve) => {
    child.once('close', (code, signal) => {
      running.delete(child);
      resolve({ code, signal, stdout, stderr });
    });
  });
  return {
    child,
    done,
    waitForStdout: (ready) =>
      new Promise<void>((resolve, reject) => {
        const check = (): void => {
          if (!ready(stdout)) return;
          watchers.delete(check);
          resolve();
        };
        watchers.add(check);
        check();
        void done.then((result) => reject(new Error(`the CLI ended first: ${JSON.stringify(result)}`)));
      }),
  };
}

/** Runs the compiled CLI (jest's globalSetup builds it first, test/globalSetup.ts), `node dist/api/main.js <args>`, as a user would. */
export function spawnCli(args: string[], options: CliOptions): CliProcess {
  return start(process.execPath, [MAIN, ...args], options);
}

/** Runs the CLI to its end. */
export function runCli(args: string[], options: CliOptions): Promise<CliResult> {
  return spawnCli(args, options).done;
}

/**
 * Runs the CLI to its end on a terminal: util-linux `script` gives it a
 * pseudo-terminal for stdout and stderr, both of which come back in `stdout`.
 * The arguments must not need shell quoting.
 */
export function runCliOnTerminal(args: string[], options: CliOptions): Promise<CliResult> {
  return start('script', ['--quiet', '--return', '--command', [process.execPath, MAIN, ...args].join(' '), '/dev/null'], options).done;
}
