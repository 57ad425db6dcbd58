/**
 * The commands of the gateway's own side, `serve`, `keys create` and `keys revoke`. They
 * live apart from main.ts so that the client commands, which talk to a
 * gateway over HTTP, start without loading express, SQLite, ajv and pino.
 */
import YAML from 'yaml';
import { parseHosts, redactPassword } from '../persistence/postgres/hosts';
import { PostgresStore } from '../persistence/postgres/postgresStore';
import { systemClock } from '../queue/clock';
import { GatewayError } from '../queue/errors';
import { rules } from '../queue/rules';
import { ConfigError, isLoopback, loadConfig, runsOpen } from './config';
import { generateKey, generateSqsSecret } from './keys';
import { appendKey, checkKeys, removeKey } from './keysFile';
import { createLogger, stderr } from './logging';
import { startGateway, unusableStore } from './server';

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
      ...(config.keysInStore ? { keysInStore: true, keysWatchIntervalMs: config.keysWatchIntervalMs } : {}),
    },
    `mqgate listening on ${gateway.url}`,
  );
  if (runsOpen(config)) {
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
  // Not a stop (SIGHUP's default): the keys file, or the stored keys, are read again. A reload never rejects; what it did is logged.
  process.on('SIGHUP', () => void gateway.reloadKeys('SIGHUP'));
}

/** Where `keys create` and `keys revoke` keep a key: `--keys-file`, or `--store` (else MQGATE_STORE, unless a keys file is named). */
export interface KeysPlaceOptions {
  keysFile?: string;
  store?: string;
}

export interface CreateKeyOptions extends KeysPlaceOptions {
  name: string;
  scope: string[];
  /** Also an SQS secret access key (api/sqs/), kept in the keys file or the store as it is: SigV4 needs the secret itself. */
  sqs?: boolean;
}

type KeysPlace = { kind: 'file'; file: string } | { kind: 'store'; url: string; name: string } | { kind: 'none' };

function keysPlace({ keysFile, store }: KeysPlaceOptions, env: NodeJS.ProcessEnv): KeysPlace {
  if (keysFile !== undefined && store !== undefined) throw new ConfigError('name one place for the key: --keys-file or --store, not both.');
  if (keysFile !== undefined) return { kind: 'file', file: keysFile };
  const url = store ?? env.MQGATE_STORE;
  if (url === undefined) return { kind: 'none' };
  try {
    return { kind: 'store', url, name: parseHosts(url).name };
  } catch (error) {
    throw new ConfigError((error as Error).message);
  }
}

/** Opens the PostgreSQL store for one piece of work on its keys (migrating it first, as a gateway's start does), then closes it. */
async function withStore<T>(url: string, work: (store: PostgresStore) => Promise<T>): Promise<T> {
  const store = new PostgresStore({ url, rules, poolSize: 1, applicationName: 'mqgate keys' });
  try {
    return await work(store).catch((error: unknown) => Promise.reject(unusableStore(url, error)));
  } finally {
    await store.close();
  }
}

/** How soon the gateways keeping their keys in `place` act on a change. */
function inForce(place: Exclude<KeysPlace, { kind: 'none' }>): string {
  return place.kind === 'file'
    ? 'gateways reading this file act on it within their keys watch interval (2 s by default), or at once on SIGHUP'
    : 'gateways keeping their keys there (keysInStore) act on it within their keys watch interval (2 s by default)';
}

async function printNewKey(options: CreateKeyOptions, env: NodeJS.ProcessEnv): Promise<void> {
  const place = keysPlace(options, env);
  const { key, id, hash } = generateKey();
  const sqsSecret = options.sqs === true ? generateSqsSecret() : undefined;
  const entry = { id, name: options.name, hash, scopes: options.scope, ...(sqsSecret === undefined ? {} : { sqsSecret }) };
  // The same checks the server makes at start, so a bad scope fails here.
  try {
    checkKeys({ keys: [entry] }, 'the new key');
    if (place.kind === 'file') appendKey(place.file, entry);
  } catch (error) {
    throw new ConfigError((error as Error).message);
  }
  if (place.kind === 'none') {
    process.stderr.write('Add this entry under `keys:` in the keys file (MQGATE_KEYS_FILE), or to MQGATE_KEYS:\n');
    process.stderr.write(YAML.stringify([entry]));
  } else if (place.kind === 'file') {
    process.stderr.write(`Added key ${id} (${options.name}) to ${place.file}; ${inForce(place)}.\n`);
  } else {
    const added = await withStore(place.url, (store) => store.addApiKey({ entry, now: Date.now() }));
    if (!added) throw new Error(`the store at ${place.name} already has a key ${id}`);
    process.stderr.write(`Added key ${id} (${options.name}) to the store at ${place.name}; ${inForce(place)}.\n`);
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
export function createKey(options: CreateKeyOptions, env: NodeJS.ProcessEnv): Promise<void> {
  return printNewKey(options, env).catch(fail);
}

async function removeKeyFrom(id: string, options: KeysPlaceOptions, env: NodeJS.ProcessEnv): Promise<void> {
  const place = keysPlace(options, env);
  if (place.kind === 'none') throw new ConfigError('name where the key is kept: --keys-file <file>, or --store <url> (or MQGATE_STORE).');
  const where = place.kind === 'file' ? place.file : `the store at ${place.name}`;
  const removed = place.kind === 'file' ? removeKey(place.file, id) : await withStore(place.url, (store) => store.removeApiKey(id));
  if (!removed) throw new Error(`no key ${id} in ${where}: nothing revoked`);
  process.stdout.write(`Revoked key ${id}: removed from ${where}; ${inForce(place)}.\n`);
}

/** `mqgate keys revoke <id>`: removes the key from the keys file or the store; exit 1 when it is not there. */
export function revokeKey(id: string, options: KeysPlaceOptions, env: NodeJS.ProcessEnv): Promise<void> {
  return removeKeyFrom(id, options, env).catch(fail);
}
