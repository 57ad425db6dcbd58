import { type ChildProcess, spawn } from 'node:child_process';
import { packagePath } from '../../persistence/packagePath';

export interface ChildGateway {
  url: string;
  process: ChildProcess;
  /** Resolves with the exit code, or the signal that ended it. */
  exited: Promise<number | NodeJS.Signals>;
}

const running = new Set<ChildProcess>();

/** Kills every gateway a test left running (a failed assertion skips its own cleanup). */
export function killChildGateways(): void {
  for (const child of running) child.kill('SIGKILL');
  running.clear();
}

/**
 * Runs the compiled gateway (jest's globalSetup builds it first, test/globalSetup.ts) as a child process on
 * a free port, and resolves once it logs that it listens.
 */
export function startChildGateway(dataDir: string, extraArgs: string[] = []): Promise<ChildGateway> {
  const child = spawn(process.execPath, [packagePath('dist', 'api', 'main.js'), '--port', '0', '--data-dir', dataDir, ...extraArgs], {
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  running.add(child);
  const exited = new Promise<number | NodeJS.Signals>((resolve) => {
    child.once('exit', (code, signal) => {
      running.delete(child);
      resolve(signal ?? code ?? 0);
    });
  });
  return new Promise((resolve, reject) => {
    let log = '';
    child.stderr?.setEncoding('utf8');
    child.stderr?.on('data', (chunk: string) => {
      log += chunk;
      const match = /mqgate listening on (http:\/\/[^"\s]+)/.exec(log);
      if (match !== null) resolve({ url: match[1], process: child, exited });
    });
    void exited.then((how) => reject(new Error(`gateway exited (${how}) before listening:\n${log}`)));
  });
}
