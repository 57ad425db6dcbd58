import path from 'node:path';
import { parseArgs } from 'node:util';
import { DEFAULT_LIMITS, type Limits } from '../queue/limits';

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
