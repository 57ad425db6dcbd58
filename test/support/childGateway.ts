import { type ChildProcess, spawn } from 'node:child_process';
import path from 'node:path';
import { packagePath } from '../../persistence/packagePath';
import { freshSchemaUrl } from './testPostgres';
import { serverUrl, testBackend } from './testStore';

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

/** The store URL of each place a gateway of this test file ran on, so that a gateway started again on it finds its data. */
const storeUrls = new Map<string, string>();

/**
 * The flags that keep a gateway's data in the place `dataDir` names, on the
 * run's backend (test/support/testStore.ts): the directory on SQLite; under
 * MQGATE_TEST_STORE=postgres also `--store`, a fresh schema on the run's
 * server the first time, the same schema whenever a gateway starts on the
 * place again. The schemas are left to the run's throw-away server, which
 * takes them with it.
 */
export async function storeFlags(dataDir: string): Promise<string[]> {
  const flags = ['--data-dir', dataDir];
  if (testBackend() !== 'postgres') return flags;
  const place = path.resolve(dataDir);
  const url = storeUrls.get(place) ?? (await freshSchemaUrl(serverUrl(), 'gateway'));
  storeUrls.set(place, url);
  return [...flags, '--store', url];
}

/**
 * Runs the compiled gateway (jest's globalSetup builds it first, test/globalSetup.ts) as a child process on
 * a free port over `dataDir`'s place (`storeFlags`), and resolves once it logs that it listens.
 */
export async function startChildGateway(dataDir: string, extraArgs: string[] = []): Promise<ChildGateway> {
  const child = spawn(process.execPath, [packagePath('dist', 'api', 'main.js'), '--port', '0', ...(await storeFlags(dataDir)), ...extraArgs], {
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

/** A call with a JSON body (or none) to a gateway process, and its status and JSON answer ({} for 204). */
export async function json(url: string, method: string, body?: unknown): Promise<{ status: number; body: Record<string, unknown> }> {
  const res = await fetch(url, {
    method,
    headers: { 'content-type': 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  return { status: res.status, body: res.status === 204 ? {} : ((await res.json()) as Record<string, unknown>) };
}
