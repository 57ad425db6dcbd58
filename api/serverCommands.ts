/**
 * The commands of the gateway's own side, `serve` and `keys create`. They
 * live apart from main.ts so that the client commands, which talk to a
 * gateway over HTTP, start without loading express, SQLite, ajv and pino.
 */
import YAML from 'yaml';
import { redactPassword } from '../persistence/postgres/hosts';
import { systemClock } from '../queue/clock';
import { GatewayError } from '../queue/errors';
import { ConfigError, isLoopback, loadConfig } from './config';
import { generateKey, generateSqsSecret } from './keys';
import { appendKey, checkKeys } from './keysFile';
import { createLogger, stderr } from './logging';
import { startGateway } from './server';

const destination = stderr();
// Until the configuration is read (and names its level), and for what goes wrong reading it.
let logger = createLogger('info', destination);

function exit(code: number): never {
  destination.flushSync();
  process.exit(code);
}

/** What a log line says of an error: its code and cause, never a stack. */
function errorFields(error: unknown): Record<string, unknown> {
  return error instanceof GatewayError ? { code: error.code, cause: String(error.cause ?? error.message) } : { cause: String(error) };
}

async function runGateway(argv: string[]): Promise<void> {
  const config = loadConfig(argv, process.env);
  logger = createLogger(config.logLevel, destination);
  const gateway = await startGateway(config, {
    clock: systemClock,
    logger,
    onInternalError: (error) => logger.error(errorFields(error), error.message),
    onBackgroundError: (error) => logger.error(errorFields(error), 'background work failed'),
  });
  logger.info(
    {
      ...(config.store === null ? { dataDir: config.dataDir, synchronous: config.synchronous } : { store: redactPassword(config.store) }),
      pushAllowedHosts: config.pushAllowedHosts ?? 'any',
      keys: config.keys.length,
      ...(config.keysFile === null ? {} : { keysFile: config.keysFile, keysWatchIntervalMs: config.keysWatchIntervalMs }),
    },
    `mqgate listening on ${gateway.url}`,
  );
  if (config.keys.length === 0) {
    const reach = isLoopback(config.host) ? 'this machine only' : `everyone who can reach ${config.host}`;
    logger.info(`no API keys configured: every request is let in, from ${reach}`);
  }
  let stopping = false;
  const stop = (signal: string): void => {
    if (stopping) return;
    stopping = true;
    logger.info(`${signal}: shutting down`);
    gateway.close().then(
      () => exit(0),
      (error: unknown) => {
        logger.error({ cause: String(error) }, 'shutdown failed');
        exit(1);
      },
    );
  };
  process.on('SIGTERM', () => stop('SIGTERM'));
  process.on('SIGINT', () => stop('SIGINT'));
  // Not a stop (SIGHUP's default): the keys file is read again. A reload never rejects; what it did is logged.
  process.on('SIGHUP', () => void gateway.reloadKeys('SIGHUP'));
}

export interface CreateKeyOptions {
  name: string;
  scope: string[];
  keysFile?: string;
  /** Also an SQS secret access key (api/sqs/), kept in the keys file as it is: SigV4 needs the secret itself. */
  sqs?: boolean;
}

function printNewKey(options: CreateKeyOptions): void {
  const { key, id, hash } = generateKey();
  const sqsSecret = options.sqs === true ? generateSqsSecret() : undefined;
  const entry = { id, name: options.name, hash, scopes: options.scope, ...(sqsSecret === undefined ? {} : { sqsSecret }) };
  // The same checks the server makes at start, so a bad scope fails here.
  checkKeys({ keys: [entry] }, 'the new key');
  if (options.keysFile === undefined) {
    process.stderr.write('Add this entry under `keys:` in the keys file (MQGATE_KEYS_FILE), or to MQGATE_KEYS:\n');
    process.stderr.write(YAML.stringify([entry]));
  } else {
    appendKey(options.keysFile, entry);
    process.stderr.write(
      `Added key ${id} (${options.name}) to ${options.keysFile}; gateways reading this file use it within their keys watch interval ` +
        '(2 s by default), or at once on SIGHUP.\n',
    );
  }
  process.stderr.write('The key, shown this once:\n');
  process.stdout.write(`${key}\n`);
  if (sqsSecret !== undefined) {
    process.stderr.write('SQS credentials (the secret is also in the entry above, which the gateway needs to check signatures):\n');
    process.stdout.write(`aws_access_key_id=${id}\naws_secret_access_key=${sqsSecret}\n`);
  }
}

function fail(error: unknown): never {
  logger.error(error instanceof ConfigError ? `invalid configuration: ${error.message}` : String(error));
  exit(error instanceof ConfigError ? 2 : 1);
}

/** `mqgate serve` (and `npm start`): the gateway, configured from flags and MQGATE_* variables. */
export function serve(argv: string[]): Promise<void> {
  return runGateway(argv).catch(fail);
}

/** `mqgate keys create`: prints a new key once; the server keeps only its hash. */
export function createKey(options: CreateKeyOptions): void {
  try {
    printNewKey(options);
  } catch (error) {
    fail(new ConfigError((error as Error).message));
  }
}
