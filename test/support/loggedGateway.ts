import fs from 'node:fs';
import { loadConfig } from '../../api/config';
import { createLogger } from '../../api/logging';
import { startGateway } from '../../api/server';
import { systemClock } from '../../queue/clock';
import { storeFlags } from './childGateway';
import { tempDir } from './testGateway';

/** The request log line the gateway writes once a request is answered. */
interface RequestLine {
  operation: string | null;
  status: number;
}

export interface LoggedGateway {
  url: string;
  /** Resolves when the next request of `operation` has been answered; ask before causing it. */
  nextRequest(operation: string): Promise<RequestLine>;
  /** Requests of `operation` answered so far. */
  answered(operation: string): number;
  /** Internal and background errors the gateway reported; a test expects none. */
  errors: unknown[];
  close(): Promise<void>;
}

/**
 * The real gateway, listening on 127.0.0.1 on a free port over a temp data
 * dir on the run's backend (storeFlags), configured as `mqgate serve <flags>` would be; its request log is
 * watched so a test can wait for a request instead of sleeping.
 */
export async function startLoggedGateway(flags: string[] = []): Promise<LoggedGateway> {
  const dataDir = tempDir('mqgate-cli-');
  const config = loadConfig(['--port', '0', ...(await storeFlags(dataDir)), ...flags], {});
  const waiting: { operation: string; resolve: (line: RequestLine) => void }[] = [];
  const counts = new Map<string, number>();
  const logger = createLogger('info', {
    write: (text: string) => {
      const line = JSON.parse(text) as RequestLine & { msg: string };
      if (line.msg !== 'request' || line.operation === null) return;
      counts.set(line.operation, (counts.get(line.operation) ?? 0) + 1);
      for (const waiter of waiting.filter((w) => w.operation === line.operation)) {
        waiting.splice(waiting.indexOf(waiter), 1);
        waiter.resolve(line);
      }
    },
  });
  const errors: unknown[] = [];
  const gateway = await startGateway(config, {
    clock: systemClock,
    logger,
    onInternalError: (error) => errors.push(error),
    onBackgroundError: (error) => errors.push(error),
  });
  return {
    url: gateway.url,
    nextRequest: (operation) => new Promise((resolve) => waiting.push({ operation, resolve })),
    answered: (operation) => counts.get(operation) ?? 0,
    errors,
    async close() {
      await gateway.close();
      fs.rmSync(dataDir, { recursive: true, force: true });
    },
  };
}
