#!/usr/bin/env node
import { systemClock } from '../queue/clock';
import { GatewayError } from '../queue/errors';
import { ConfigError, loadConfig } from './config';
import { startGateway } from './server';

function log(level: 'info' | 'error', msg: string, fields: Record<string, unknown> = {}): void {
  process.stderr.write(`${JSON.stringify({ time: new Date().toISOString(), level, msg, ...fields })}\n`);
}

/** What a log line says of an error: its code and cause, never a stack. */
function errorFields(error: unknown): Record<string, unknown> {
  return error instanceof GatewayError ? { code: error.code, cause: String(error.cause ?? error.message) } : { cause: String(error) };
}

/** `npm start`: the gateway, configured from flags and MQGATE_* variables. */
async function main(): Promise<void> {
  const config = loadConfig(process.argv.slice(2), process.env);
  const gateway = await startGateway(config, {
    clock: systemClock,
    onInternalError: (error) => log('error', error.message, errorFields(error)),
    onBackgroundError: (error) => log('error', 'background work failed', errorFields(error)),
  });
  log('info', `mqgate listening on ${gateway.url}`, {
    dataDir: config.dataDir,
    synchronous: config.synchronous,
    pushAllowedHosts: config.pushAllowedHosts ?? 'any',
  });
  let stopping = false;
  const stop = (signal: string): void => {
    if (stopping) return;
    stopping = true;
    log('info', `${signal}: shutting down`);
    gateway.close().then(
      () => process.exit(0),
      (error: unknown) => {
        log('error', 'shutdown failed', { cause: String(error) });
        process.exit(1);
      },
    );
  };
  process.on('SIGTERM', () => stop('SIGTERM'));
  process.on('SIGINT', () => stop('SIGINT'));
}

main().catch((error: unknown) => {
  log('error', error instanceof ConfigError ? `invalid configuration: ${error.message}` : String(error));
  process.exit(error instanceof ConfigError ? 2 : 1);
});
