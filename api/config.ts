import fs from 'node:fs';
import path from 'node:path';
import { parseArgs } from 'node:util';
import Ajv2020, { type ValidateFunction } from 'ajv/dist/2020';
import YAML from 'yaml';
import { DEFAULT_LIMITS, type Limits } from '../queue/limits';
import type { ApiKey, KeyLimits } from './keys';
import { checkKeys, combineKeys, parseKeys, readKeysFile } from './keysFile';
import { DEFAULT_TIMEOUTS } from './listen';
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
   * A PostgreSQL URL (`postgres://user:password@host:port/database`) to keep
   * everything there instead of in the SQLite file; dataDir and synchronous
   * are then unused. MQGATE_STORE / --store. Default: none (SQLite).
   */
  store: string | null;
  /**
   * FULL: every 2xx write is fsync'd (survives power loss). NORMAL: committed
   * but fsync'd at checkpoints (survives a process crash, not power loss).
   * MQGATE_SYNCHRONOUS / --synchronous. Default FULL.
   */
  synchronous: 'FULL' | 'NORMAL';
  /** Longest a graceful shutdown waits for in-flight requests. MQGATE_SHUTDOWN_TIMEOUT_MS. Default 10000. */
  shutdownTimeoutMs: number;
  /**
   * Longest a request may take to arrive whole, headers and body (a long-poll's
   * wait comes after, and is not counted): 408 request_timeout past it.
   * MQGATE_REQUEST_TIMEOUT_MS / --request-timeout-ms. Default 30000.
   */
  requestTimeoutMs: number;
  /** Longest a request's headers may take to arrive; at most requestTimeoutMs. MQGATE_HEADERS_TIMEOUT_MS / --headers-timeout-ms. Default 10000. */
  headersTimeoutMs: number;
  /**
   * Names a browser may call this gateway by (the Host header, port aside)
   * while it has no keys, besides localhost, 127.0.0.1, [::1] and the listen
   * address: a page whose name resolves to 127.0.0.1 (DNS rebinding) is
   * refused with 403 host_not_allowed. `*` turns the check off.
   * MQGATE_ALLOWED_HOSTS / --allowed-hosts. Default none.
   */
  allowedHosts: string[];
  /**
   * Origins (`https://app.example.com`) whose pages may call the gateway from
   * a browser: CORS preflights answered, and their requests that change state
   * let in. A cross-site request from any other origin that changes state is
   * 403 origin_not_allowed. MQGATE_CORS_ORIGINS / --cors-origins. Default none.
   */
  corsOrigins: string[];
  /**
   * Hosts push subscriptions may deliver to (comma-separated: `hooks.example.com`,
   * `*.example.com`, `10.0.0.5:8443`); null (unset or empty): any host.
   * MQGATE_PUSH_ALLOWED_HOSTS / --push-allowed-hosts.
   */
  pushAllowedHosts: string[] | null;
  /** MQGATE_MAX_MESSAGE_BYTES, MQGATE_MAX_BATCH_MESSAGES, MQGATE_MAX_BATCH_BYTES, MQGATE_MAX_WAIT_MS, MQGATE_MAX_REPLY_WAIT_MS, MQGATE_MAX_BODY_BYTES_IN_FLIGHT, MQGATE_IDEMPOTENCY_WINDOW_MS. */
  limits: Limits;
  /**
   * API keys (hashes and scopes) in force at start: the keys file's and the
   * inline ones (with keysInStore, the stored ones come at start, from the
   * store). None, and none kept in the store: every request is let in, and
   * only a loopback host may be listened on (`runsOpen`).
   */
  keys: ApiKey[];
  /**
   * The keys file, read again on SIGHUP and whenever it changes
   * (api/keysReload.ts). MQGATE_KEYS_FILE / --keys-file. Default: none.
   */
  keysFile: string | null;
  /** Keys given inline, MQGATE_KEYS / --keys (the same YAML or JSON document as the file): fixed until a restart. */
  inlineKeys: ApiKey[];
  /**
   * The API keys are kept in the PostgreSQL store (`mqgate keys create
   * --store`), read at start and every keysWatchIntervalMs, so every gateway
   * over the database sees a key added or revoked within that interval. Needs
   * a PostgreSQL store; not with keysFile. The gateway then always requires
   * keys, even while none is stored. MQGATE_KEYS_IN_STORE / --keys-in-store.
   * Default false.
   */
  keysInStore: boolean;
  /**
   * How often the keys file is looked at (its modification time, size and
   * inode) for a change, which is then read; with keysInStore, how often the
   * stored keys are read. MQGATE_KEYS_WATCH_INTERVAL_MS /
   * --keys-watch-interval-ms. Default 2000.
   */
  keysWatchIntervalMs: number;
  /**
   * How long a gateway process holds a push subscription or a move task it
   * runs without renewing its lease (a third of it apart): when the process
   * stops without giving it up, another one over the same store takes it
   * over at most this plus a third of it later. MQGATE_OWNERSHIP_MS / --ownership-ms.
   * Default 15000.
   */
  ownershipMs: number;
  /**
   * How many gateways serve behind one load balancer and share every API
   * key's limits: each enforces its part (a key's requestsPerSecond,
   * bytesPerSecond and longPolls divided by this, rounded up).
   * MQGATE_GATEWAYS / --gateways. Default 1.
   */
  gateways: number;
  /** Lets the gateway listen beyond loopback without keys. MQGATE_ALLOW_UNAUTHENTICATED / --allow-unauthenticated. Default false. */
  allowUnauthenticated: boolean;
  /**
   * `open`: /healthz and /readyz answer anyone; `key`: any valid key. (/metrics
   * and /v1/activity need the `metrics` scope whenever there are keys.)
   * MQGATE_HEALTH_AUTH / --health-auth. Default open.
   */
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

/** How one setting is named, checked and read. */
interface SettingSpec {
  env: string;
  flag: string;
  /** The value's JSON schema, checked with ajv whichever source the value came from. */
  schema: Record<string, unknown>;
  /** What a good value looks like, for the message about a bad one. */
  expected: string;
  /** For a list: what a good item looks like, for the message naming a bad one. */
  item?: string;
  /** A value from an environment variable or a flag (always text) as the schema's type; text that cannot be is kept, and refused. */
  parse: (text: string) => unknown;
}

function integer(env: string, flag: string, min: number, max: number): SettingSpec {
  return {
    env,
    flag,
    schema: { type: 'integer', minimum: min, maximum: max },
    expected: `a whole number from ${min} to ${max}`,
    parse: (text) => (/^\s*\d+\s*$/.test(text) && Number.isSafeInteger(Number(text)) ? Number(text) : text),
  };
}

function oneOf(env: string, flag: string, allowed: readonly string[], normalize = (text: string) => text.toLowerCase()): SettingSpec {
  return { env, flag, schema: { enum: allowed }, expected: `one of ${allowed.join(', ')}`, parse: normalize };
}

function boolean(env: string, flag: string): SettingSpec {
  const parse = (text: string): unknown => (/^(true|false)$/i.test(text.trim()) ? text.trim().toLowerCase() === 'true' : text);
  return { env, flag, schema: { type: 'boolean' }, expected: 'one of true, false', parse };
}

function text(env: string, flag: string, expected: string): SettingSpec {
  return { env, flag, schema: { type: 'string', pattern: '\\S' }, expected, parse: (value) => value };
}

const HOST_PATTERN = '^(\\*\\.)?[A-Za-z0-9.-]+(:\\d{1,5})?$|^\\[[0-9A-Fa-f:.]+\\](:\\d{1,5})?$';
/** A host name or address without a port, or a `*.domain` pattern. */
const NAME_PATTERN = '^(\\*\\.)?[A-Za-z0-9.-]+$|^\\[[0-9A-Fa-f:.]+\\]$';
const ORIGIN_PATTERN = '^https?://([A-Za-z0-9.-]+|\\[[0-9A-Fa-f:.]+\\])(:\\d{1,5})?$';

/** A comma-separated list (elsewhere), or a list in the file, of items matching `pattern`. */
function list(env: string, flag: string, pattern: string, expected: string, item: string): SettingSpec {
  return {
    env,
    flag,
    schema: { type: 'array', items: { type: 'string', pattern } },
    expected,
    item,
    parse: (value) => value.split(',').map((h) => h.trim()).filter((h) => h !== ''),
  };
}

/**
 * Every setting: its config-file key (the property name), environment
 * variable and flag. docs/configuration.md documents each with its default,
 * and a test keeps the two in step.
 */
const SETTINGS = {
  host: text('MQGATE_HOST', 'host', 'a host name or address (it must not be empty)'),
  port: integer('MQGATE_PORT', 'port', 0, 65535),
  dataDir: text('MQGATE_DATA_DIR', 'data-dir', 'a directory (it must not be empty)'),
  store: {
    env: 'MQGATE_STORE',
    flag: 'store',
    schema: { type: 'string', pattern: '^postgres(ql)?://\\S+$' },
    expected: 'a postgres:// URL',
    parse: (value: string) => value,
  },
  synchronous: oneOf('MQGATE_SYNCHRONOUS', 'synchronous', ['FULL', 'NORMAL'], (value) => value.toUpperCase()),
  shutdownTimeoutMs: integer('MQGATE_SHUTDOWN_TIMEOUT_MS', 'shutdown-timeout-ms', 0, 600_000),
  requestTimeoutMs: integer('MQGATE_REQUEST_TIMEOUT_MS', 'request-timeout-ms', 100, 3_600_000),
  headersTimeoutMs: integer('MQGATE_HEADERS_TIMEOUT_MS', 'headers-timeout-ms', 100, 3_600_000),
  allowedHosts: list('MQGATE_ALLOWED_HOSTS', 'allowed-hosts', `^\\*$|${NAME_PATTERN}`, 'a list of host names, *.domain patterns, or *', 'a host name or *.domain'),
  corsOrigins: list('MQGATE_CORS_ORIGINS', 'cors-origins', ORIGIN_PATTERN, 'a list of origins (scheme://host[:port])', 'an origin: http(s)://host[:port], no path'),
  pushAllowedHosts: list('MQGATE_PUSH_ALLOWED_HOSTS', 'push-allowed-hosts', HOST_PATTERN, 'a list of hosts, host:port pairs or *.domain patterns', 'a host, host:port or *.domain'),
  maxMessageBytes: integer('MQGATE_MAX_MESSAGE_BYTES', 'max-message-bytes', 1, 256 * 1024 * 1024),
  maxBatchMessages: integer('MQGATE_MAX_BATCH_MESSAGES', 'max-batch-messages', 1, 100_000),
  maxBatchBytes: integer('MQGATE_MAX_BATCH_BYTES', 'max-batch-bytes', 1, 1024 * 1024 * 1024),
  maxWaitMs: integer('MQGATE_MAX_WAIT_MS', 'max-wait-ms', 0, 3_600_000),
  maxReplyWaitMs: integer('MQGATE_MAX_REPLY_WAIT_MS', 'max-reply-wait-ms', 0, 3_600_000),
  clockSkewMs: integer('MQGATE_CLOCK_SKEW_MS', 'clock-skew-ms', 0, 60_000),
  streamHeartbeatMs: integer('MQGATE_STREAM_HEARTBEAT_MS', 'stream-heartbeat-ms', 100, 600_000),
  maxBodyBytesInFlight: integer('MQGATE_MAX_BODY_BYTES_IN_FLIGHT', 'max-body-bytes-in-flight', 1, 2 ** 40),
  idempotencyWindowMs: integer('MQGATE_IDEMPOTENCY_WINDOW_MS', 'idempotency-window-ms', 0, 30 * 24 * 3_600_000),
  keysFile: text('MQGATE_KEYS_FILE', 'keys-file', 'a file name'),
  keysInStore: boolean('MQGATE_KEYS_IN_STORE', 'keys-in-store'),
  keysWatchIntervalMs: integer('MQGATE_KEYS_WATCH_INTERVAL_MS', 'keys-watch-interval-ms', 100, 600_000),
  ownershipMs: integer('MQGATE_OWNERSHIP_MS', 'ownership-ms', 300, 600_000),
  gateways: integer('MQGATE_GATEWAYS', 'gateways', 1, 1000),
  keys: {
    env: 'MQGATE_KEYS',
    flag: 'keys',
    // Text (a YAML or JSON keys document) from the environment; in the config file, the list of keys itself.
    schema: { type: ['string', 'array'] },
    expected: 'a keys document, or in the config file a list of keys',
    parse: (value: string) => value,
  },
  allowUnauthenticated: boolean('MQGATE_ALLOW_UNAUTHENTICATED', 'allow-unauthenticated'),
  healthAuth: oneOf('MQGATE_HEALTH_AUTH', 'health-auth', ['open', 'key']),
  keyRequestsPerSecond: integer('MQGATE_KEY_REQUESTS_PER_SECOND', 'key-requests-per-second', 1, 1_000_000),
  keyBytesPerSecond: integer('MQGATE_KEY_BYTES_PER_SECOND', 'key-bytes-per-second', 1, 1024 ** 4),
  keyLongPolls: integer('MQGATE_KEY_LONG_POLLS', 'key-long-polls', 0, 1_000_000),
  maxStorageBytes: integer('MQGATE_MAX_STORAGE_BYTES', 'max-storage-bytes', 65_536, 2 ** 52),
  logLevel: oneOf('MQGATE_LOG_LEVEL', 'log-level', LOG_LEVELS),
} satisfies Record<string, SettingSpec>;

export type Setting = keyof typeof SETTINGS;
export const SETTING_NAMES = Object.keys(SETTINGS) as Setting[];

/** The environment variable and flag of a setting (for docs and their test). */
export function sourcesOf(setting: Setting): { env: string; flag: string } {
  const { env, flag } = SETTINGS[setting];
  return { env, flag: `--${flag}` };
}

const ajv = new Ajv2020({ allErrors: true, allowUnionTypes: true });
const validators = Object.fromEntries(SETTING_NAMES.map((setting) => [setting, ajv.compile(SETTINGS[setting].schema)])) as Record<
  Setting,
  ValidateFunction
>;

/** A value as given, and where: `--port`, `MQGATE_PORT` or `port in mqgate.yaml`, for the message if it is bad. */
interface Given {
  value: unknown;
  from: string;
  shown: string;
}

/** The config file's settings, by their names; every key must be one. */
function readConfigFile(file: string): Record<string, unknown> {
  let content: string;
  try {
    content = fs.readFileSync(file, 'utf8');
  } catch (error) {
    throw new ConfigError(`config file ${file} cannot be read: ${(error as NodeJS.ErrnoException).code ?? String(error)}`);
  }
  let document: unknown;
  try {
    document = YAML.parse(content);
  } catch (error) {
    throw new ConfigError(`config file ${file} is not valid YAML: ${(error as Error).message.split('\n')[0]}`);
  }
  if (document === null || document === undefined) return {};
  if (typeof document !== 'object' || Array.isArray(document)) throw new ConfigError(`config file ${file} must be a mapping of setting: value.`);
  const unknown = Object.keys(document).filter((key) => !(key in SETTINGS));
  if (unknown.length > 0) {
    throw new ConfigError(unknown.map((key) => `'${key}' in ${file} is not a setting (see docs/configuration.md)`).join('\n'));
  }
  return document as Record<string, unknown>;
}

/** Flags win over environment variables, which win over the config file, which wins over defaults. */
function given(argv: string[], env: NodeJS.ProcessEnv): Map<Setting, Given> {
  let flags: Record<string, string | undefined>;
  try {
    flags = parseArgs({
      args: argv,
      options: Object.fromEntries(['config', ...Object.values(SETTINGS).map((s) => s.flag)].map((flag) => [flag, { type: 'string' as const }])),
      strict: true,
      allowPositionals: false,
    }).values as Record<string, string | undefined>;
  } catch (error) {
    throw new ConfigError((error as Error).message);
  }
  const file = flags.config ?? env.MQGATE_CONFIG;
  const inFile = file === undefined ? {} : readConfigFile(file);
  const values = new Map<Setting, Given>();
  for (const setting of SETTING_NAMES) {
    const spec: SettingSpec = SETTINGS[setting];
    const flag = flags[spec.flag];
    const fromEnv = env[spec.env];
    if (flag !== undefined) values.set(setting, { value: spec.parse(flag), from: `--${spec.flag}`, shown: flag });
    else if (fromEnv !== undefined) values.set(setting, { value: spec.parse(fromEnv), from: spec.env, shown: fromEnv });
    else if (setting in inFile) {
      const value = inFile[setting];
      // Text in the file reads as it would from the environment ("8080", "normal"); anything else is taken as it is.
      values.set(setting, { value: typeof value === 'string' ? spec.parse(value) : value, from: `${setting} in ${file}`, shown: JSON.stringify(value) });
    }
  }
  return values;
}

/** Every value checked against its setting's schema; one line for each bad one. */
function check(values: Map<Setting, Given>): void {
  const problems: string[] = [];
  for (const [setting, { value, from, shown }] of values) {
    const validate = validators[setting];
    if (validate(value)) continue;
    // ajv stops at the first error: for a list with a bad item, its path is the item's index.
    const index = /^\/(\d+)$/.exec(validate.errors?.[0]?.instancePath ?? '');
    const { expected, item }: SettingSpec = SETTINGS[setting];
    problems.push(
      item === undefined || index === null || !Array.isArray(value)
        ? `${from} must be ${expected}; got '${shown}'.`
        : `${from}: '${String(value[Number(index[1])])}' is not ${item}.`,
    );
  }
  if (problems.length > 0) throw new ConfigError(problems.join('\n'));
}

/** Addresses only this machine can reach. */
export function isLoopback(host: string): boolean {
  return host === 'localhost' || host === '::1' || host === '[::1]' || /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(host);
}

/**
 * Whether the gateway lets every request in: it has no key, and none can come
 * from the store. A gateway with keys, or with keysInStore, requires a key from
 * the start, even once none is left.
 */
export function runsOpen(config: Pick<Config, 'keys' | 'keysInStore'>): boolean {
  return config.keys.length === 0 && !config.keysInStore;
}

/** The keys at start: those of the keys file and those given inline, apart and together. */
function loadKeys(file: string | null, inline: Given | undefined): { inline: ApiKey[]; all: ApiKey[] } {
  try {
    const listed = inline?.value;
    const fromInline =
      inline === undefined ? [] : typeof listed === 'string' ? parseKeys(listed, inline.from) : checkKeys({ keys: listed }, inline.from);
    return { inline: fromInline, all: combineKeys(file === null ? [] : readKeysFile(file), fromInline) };
  } catch (error) {
    throw new ConfigError((error as Error).message);
  }
}

/**
 * The configuration from flags, MQGATE_* variables and the config file
 * (`--config` / MQGATE_CONFIG, YAML), over the defaults. Throws ConfigError
 * naming every bad value and where it came from.
 */
export function loadConfig(argv: string[], env: NodeJS.ProcessEnv): Config {
  const values = given(argv, env);
  check(values);
  function read<T>(setting: Setting, fallback: T): T {
    return (values.get(setting)?.value as T | undefined) ?? fallback;
  }
  const host = read('host', '127.0.0.1');
  const store = read<string | null>('store', null);
  const keysFile = read<string | null>('keysFile', null);
  const keysInStore = read('keysInStore', false);
  if (keysInStore && store === null) {
    throw new ConfigError('keysInStore keeps the API keys in the PostgreSQL store: it needs one (MQGATE_STORE / --store, a postgres:// URL).');
  }
  if (keysInStore && keysFile !== null) {
    throw new ConfigError('keysInStore and keysFile both say where the API keys are kept: set one of them (inline keys, MQGATE_KEYS, go with either).');
  }
  const { inline: inlineKeys, all: keys } = loadKeys(keysFile, values.get('keys'));
  const allowUnauthenticated = read('allowUnauthenticated', false);
  const open = runsOpen({ keys, keysInStore });
  if (open && !isLoopback(host) && !allowUnauthenticated) {
    throw new ConfigError(
      `no API keys are configured, so mqgate listens on loopback only, not '${host}'. ` +
        'Create a key (mqgate keys create) and pass MQGATE_KEYS_FILE, or set MQGATE_ALLOW_UNAUTHENTICATED=true.',
    );
  }
  const allowed = read<string[]>('pushAllowedHosts', []);
  const requestTimeoutMs = read('requestTimeoutMs', DEFAULT_TIMEOUTS.requestMs);
  const headersTimeoutMs = read('headersTimeoutMs', Math.min(DEFAULT_TIMEOUTS.headersMs, requestTimeoutMs));
  if (headersTimeoutMs > requestTimeoutMs) {
    throw new ConfigError(`the headers timeout (${headersTimeoutMs} ms) must not be longer than the request timeout (${requestTimeoutMs} ms), which includes it.`);
  }
  const d = DEFAULT_LIMITS;
  return {
    host,
    port: read('port', 8080),
    dataDir: path.resolve(read('dataDir', './data')),
    store,
    synchronous: read('synchronous', 'FULL'),
    shutdownTimeoutMs: read('shutdownTimeoutMs', 10_000),
    requestTimeoutMs,
    headersTimeoutMs,
    allowedHosts: read('allowedHosts', []),
    corsOrigins: read('corsOrigins', []),
    pushAllowedHosts: allowed.length === 0 ? null : allowed,
    keys,
    keysFile,
    inlineKeys,
    keysInStore,
    keysWatchIntervalMs: read('keysWatchIntervalMs', 2000),
    ownershipMs: read('ownershipMs', 15_000),
    gateways: read('gateways', 1),
    allowUnauthenticated,
    healthAuth: read('healthAuth', 'open'),
    keyLimits: {
      requestsPerSecond: read('keyRequestsPerSecond', null),
      bytesPerSecond: read('keyBytesPerSecond', null),
      // Without keys everyone shares one principal: a default cap would cap the whole server.
      longPolls: read('keyLongPolls', open ? null : 100),
    },
    maxStorageBytes: read('maxStorageBytes', null),
    logLevel: read('logLevel', 'info'),
    limits: {
      maxMessageBytes: read('maxMessageBytes', d.maxMessageBytes),
      maxBatchMessages: read('maxBatchMessages', d.maxBatchMessages),
      maxBatchBytes: read('maxBatchBytes', d.maxBatchBytes),
      maxWaitMs: read('maxWaitMs', d.maxWaitMs),
      maxReplyWaitMs: read('maxReplyWaitMs', d.maxReplyWaitMs),
      maxBodyBytesInFlight: read('maxBodyBytesInFlight', d.maxBodyBytesInFlight),
      idempotencyWindowMs: read('idempotencyWindowMs', d.idempotencyWindowMs),
      clockSkewMs: read('clockSkewMs', d.clockSkewMs),
      streamHeartbeatMs: read('streamHeartbeatMs', d.streamHeartbeatMs),
    },
  };
}
