import path from 'node:path';
import { parseArgs } from 'node:util';
import { DEFAULT_LIMITS, type Limits } from '../queue/limits';
import type { ApiKey, KeyLimits } from './keys';
import { parseKeys, readKeysFile } from './keysFile';
import { LOG_LEVELS, type LogLevel } from './logging';

/** Everything the gateway reads at start; nothing reads process.env anywhere else. */
export interface Config {
  /** Address to listen on. MQGATE_HOST / --host. Default 127.0.0.1. */
  host: string;
  /** Port to listen on; 0 picks a free one. MQGATE_PORT / --port. Default 8080. */
  port: number;
  /** Directory of the SQLite file (mqgate.db). MQGATE_DATA_DIR / --data-dir. Default ./data. */
  dataDir: string;
  /**
   * FULL: every 2xx write is fsync'd (survives power loss). NORMAL: committed
   * but fsync'd at checkpoints (survives a process crash, not power loss).
   * MQGATE_SYNCHRONOUS / --synchronous. Default FULL.
   */
  synchronous: 'FULL' | 'NORMAL';
  /** Longest a graceful shutdown waits for in-flight requests. MQGATE_SHUTDOWN_TIMEOUT_MS. Default 10000. */
  shutdownTimeoutMs: number;
  /**
   * Hosts push subscriptions may deliver to (comma-separated: `hooks.example.com`,
   * `*.example.com`, `10.0.0.5:8443`); null (unset or empty): any host.
   * MQGATE_PUSH_ALLOWED_HOSTS / --push-allowed-hosts.
   */
  pushAllowedHosts: string[] | null;
  /** MQGATE_MAX_MESSAGE_BYTES, MQGATE_MAX_BATCH_MESSAGES, MQGATE_MAX_BATCH_BYTES, MQGATE_MAX_WAIT_MS, MQGATE_IDEMPOTENCY_WINDOW_MS. */
  limits: Limits;
  /**
   * API keys (hashes and scopes) from the keys file (MQGATE_KEYS_FILE /
   * --keys-file) and from MQGATE_KEYS / --keys (the same YAML or JSON
   * document inline). None: every request is let in, and only a loopback
   * host may be listened on.
   */
  keys: ApiKey[];
  /** Lets the gateway listen beyond loopback without keys. MQGATE_ALLOW_UNAUTHENTICATED / --allow-unauthenticated. Default false. */
  allowUnauthenticated: boolean;
  /** `open`: /healthz and /readyz answer anyone; `key`: any valid key. MQGATE_HEALTH_AUTH / --health-auth. Default open. */
  healthAuth: 'open' | 'key';
  /**
   * Per-key limits unless a key sets its own; null: none. MQGATE_KEY_REQUESTS_PER_SECOND,
   * MQGATE_KEY_BYTES_PER_SECOND (defaults: none), MQGATE_KEY_LONG_POLLS (default 100 per key; none without keys).
   */
  keyLimits: KeyLimits;
  /** Cap on the database file; writes past it get 507 storage_full. MQGATE_MAX_STORAGE_BYTES. Default: none (the disk). */
  maxStorageBytes: number | null;
  /** Lowest level logged (a line per request is `info`). MQGATE_LOG_LEVEL / --log-level. Default info. */
  logLevel: LogLevel;
}

export class ConfigError extends Error {
  override name = 'ConfigError';
}

/** Setting name → [env variable, flag]. */
const SOURCES = {
  host: ['MQGATE_HOST', 'host'],
  port: ['MQGATE_PORT', 'port'],
  dataDir: ['MQGATE_DATA_DIR', 'data-dir'],
  synchronous: ['MQGATE_SYNCHRONOUS', 'synchronous'],
  shutdownTimeoutMs: ['MQGATE_SHUTDOWN_TIMEOUT_MS', 'shutdown-timeout-ms'],
  pushAllowedHosts: ['MQGATE_PUSH_ALLOWED_HOSTS', 'push-allowed-hosts'],
  maxMessageBytes: ['MQGATE_MAX_MESSAGE_BYTES', 'max-message-bytes'],
  maxBatchMessages: ['MQGATE_MAX_BATCH_MESSAGES', 'max-batch-messages'],
  maxBatchBytes: ['MQGATE_MAX_BATCH_BYTES', 'max-batch-bytes'],
  maxWaitMs: ['MQGATE_MAX_WAIT_MS', 'max-wait-ms'],
  idempotencyWindowMs: ['MQGATE_IDEMPOTENCY_WINDOW_MS', 'idempotency-window-ms'],
  keysFile: ['MQGATE_KEYS_FILE', 'keys-file'],
  keys: ['MQGATE_KEYS', 'keys'],
  allowUnauthenticated: ['MQGATE_ALLOW_UNAUTHENTICATED', 'allow-unauthenticated'],
  healthAuth: ['MQGATE_HEALTH_AUTH', 'health-auth'],
  keyRequestsPerSecond: ['MQGATE_KEY_REQUESTS_PER_SECOND', 'key-requests-per-second'],
  keyBytesPerSecond: ['MQGATE_KEY_BYTES_PER_SECOND', 'key-bytes-per-second'],
  keyLongPolls: ['MQGATE_KEY_LONG_POLLS', 'key-long-polls'],
  maxStorageBytes: ['MQGATE_MAX_STORAGE_BYTES', 'max-storage-bytes'],
  logLevel: ['MQGATE_LOG_LEVEL', 'log-level'],
} as const;

type Setting = keyof typeof SOURCES;

function integer(setting: Setting, raw: string | undefined, fallback: number, min: number, max: number): number {
  if (raw === undefined) return fallback;
  const value = Number(raw);
  if (!/^\d+$/.test(raw.trim()) || !Number.isSafeInteger(value) || value < min || value > max) {
    const [env, flag] = SOURCES[setting];
    throw new ConfigError(`${env} / --${flag} must be a whole number from ${min} to ${max}; got '${raw}'.`);
  }
  return value;
}

/** `integer`, where unset means no limit. */
function optionalInteger(setting: Setting, raw: string | undefined, fallback: number | null, min: number, max: number): number | null {
  return raw === undefined ? fallback : integer(setting, raw, 0, min, max);
}

function oneOf<T extends string>(setting: Setting, raw: string | undefined, fallback: T, allowed: readonly T[]): T {
  const value = (raw ?? fallback).toLowerCase() as T;
  if (!allowed.includes(value)) {
    const [env, flag] = SOURCES[setting];
    throw new ConfigError(`${env} / --${flag} must be one of ${allowed.join(', ')}; got '${raw}'.`);
  }
  return value;
}

/** Addresses only this machine can reach. */
export function isLoopback(host: string): boolean {
  return host === 'localhost' || host === '::1' || host === '[::1]' || /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(host);
}

function loadKeys(file: string | undefined, inline: string | undefined): ApiKey[] {
  try {
    const keys = [...(file === undefined ? [] : readKeysFile(file)), ...(inline === undefined ? [] : parseKeys(inline, 'MQGATE_KEYS'))];
    const ids = keys.map((key) => key.id);
    const repeated = ids.find((id, i) => ids.indexOf(id) !== i);
    if (repeated !== undefined) throw new Error(`key ${repeated} is configured twice`);
    return keys;
  } catch (error) {
    throw new ConfigError((error as Error).message);
  }
}

/** Flags win over environment variables, which win over defaults. Throws ConfigError with the exact problem. */
export function loadConfig(argv: string[], env: NodeJS.ProcessEnv): Config {
  let flags: Record<string, string | undefined>;
  try {
    flags = parseArgs({
      args: argv,
      options: Object.fromEntries(Object.values(SOURCES).map(([, flag]) => [flag, { type: 'string' as const }])),
      strict: true,
      allowPositionals: false,
    }).values as Record<string, string | undefined>;
  } catch (error) {
    throw new ConfigError((error as Error).message);
  }
  const read = (setting: Setting): string | undefined => flags[SOURCES[setting][1]] ?? env[SOURCES[setting][0]];

  const synchronous = (read('synchronous') ?? 'FULL').toUpperCase();
  if (synchronous !== 'FULL' && synchronous !== 'NORMAL') {
    throw new ConfigError(`MQGATE_SYNCHRONOUS / --synchronous must be FULL or NORMAL; got '${synchronous}'.`);
  }
  const host = read('host') ?? '127.0.0.1';
  if (host.trim() === '') throw new ConfigError('MQGATE_HOST / --host must not be empty.');
  const keys = loadKeys(read('keysFile'), read('keys'));
  const allowUnauthenticated = oneOf('allowUnauthenticated', read('allowUnauthenticated'), 'false', ['true', 'false']) === 'true';
  if (keys.length === 0 && !isLoopback(host) && !allowUnauthenticated) {
    throw new ConfigError(
      `no API keys are configured, so mqgate listens on loopback only, not '${host}'. ` +
        'Create a key (mqgate keys create) and pass MQGATE_KEYS_FILE, or set MQGATE_ALLOW_UNAUTHENTICATED=true.',
    );
  }
  const allowed = (read('pushAllowedHosts') ?? '').split(',').map((h) => h.trim()).filter((h) => h !== '');
  const badHost = allowed.find((h) => !/^(\*\.)?[A-Za-z0-9.-]+(:\d{1,5})?$|^\[[0-9A-Fa-f:.]+\](:\d{1,5})?$/.test(h));
  if (badHost !== undefined) {
    throw new ConfigError(`MQGATE_PUSH_ALLOWED_HOSTS / --push-allowed-hosts: '${badHost}' is not a host, host:port or *.domain.`);
  }
  const d = DEFAULT_LIMITS;
  return {
    host,
    port: integer('port', read('port'), 8080, 0, 65535),
    dataDir: path.resolve(read('dataDir') ?? './data'),
    synchronous,
    shutdownTimeoutMs: integer('shutdownTimeoutMs', read('shutdownTimeoutMs'), 10_000, 0, 600_000),
    pushAllowedHosts: allowed.length === 0 ? null : allowed,
    keys,
    allowUnauthenticated,
    healthAuth: oneOf('healthAuth', read('healthAuth'), 'open', ['open', 'key']),
    keyLimits: {
      requestsPerSecond: optionalInteger('keyRequestsPerSecond', read('keyRequestsPerSecond'), null, 1, 1_000_000),
      bytesPerSecond: optionalInteger('keyBytesPerSecond', read('keyBytesPerSecond'), null, 1, 1024 ** 4),
      // Without keys everyone shares one principal: a default cap would cap the whole server.
      longPolls: optionalInteger('keyLongPolls', read('keyLongPolls'), keys.length === 0 ? null : 100, 0, 1_000_000),
    },
    maxStorageBytes: optionalInteger('maxStorageBytes', read('maxStorageBytes'), null, 65_536, 2 ** 52),
    logLevel: oneOf('logLevel', read('logLevel'), 'info', LOG_LEVELS),
    limits: {
      maxMessageBytes: integer('maxMessageBytes', read('maxMessageBytes'), d.maxMessageBytes, 1, 256 * 1024 * 1024),
      maxBatchMessages: integer('maxBatchMessages', read('maxBatchMessages'), d.maxBatchMessages, 1, 100_000),
      maxBatchBytes: integer('maxBatchBytes', read('maxBatchBytes'), d.maxBatchBytes, 1, 1024 * 1024 * 1024),
      maxWaitMs: integer('maxWaitMs', read('maxWaitMs'), d.maxWaitMs, 0, 3_600_000),
      idempotencyWindowMs: integer(
        'idempotencyWindowMs',
        read('idempotencyWindowMs'),
        d.idempotencyWindowMs,
        0,
        30 * 24 * 3_600_000,
      ),
    },
  };
}
