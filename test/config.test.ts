import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { ConfigError, loadConfig, SETTING_NAMES, sourcesOf } from '../api/config';
import { packagePath } from '../persistence/packagePath';
import YAML from 'yaml';

test('defaults: 127.0.0.1:8080, ./data, FULL durability, documented limits', () => {
  const config = loadConfig([], {});
  expect(config).toMatchObject({
    host: '127.0.0.1',
    port: 8080,
    dataDir: path.resolve('data'),
    synchronous: 'FULL',
    pushAllowedHosts: null,
    limits: { maxMessageBytes: 1_048_576, maxBatchMessages: 1000, maxBatchBytes: 10_485_760, maxWaitMs: 20_000 },
  });
});

test('environment variables set values, and flags win over them', () => {
  const env = { MQGATE_HOST: '0.0.0.0', MQGATE_ALLOW_UNAUTHENTICATED: 'true', MQGATE_PORT: '9000', MQGATE_DATA_DIR: '/tmp/x', MQGATE_SYNCHRONOUS: 'normal' };
  expect(loadConfig([], env)).toMatchObject({ host: '0.0.0.0', port: 9000, dataDir: '/tmp/x', synchronous: 'NORMAL' });
  expect(loadConfig(['--port', '9100', '--data-dir', '/tmp/y', '--max-wait-ms', '500'], env)).toMatchObject({
    port: 9100,
    dataDir: '/tmp/y',
    limits: { maxWaitMs: 500 },
  });
});

test('push targets: a comma-separated allow-list of hosts, host:port pairs and subdomain patterns', () => {
  expect(loadConfig([], { MQGATE_PUSH_ALLOWED_HOSTS: ' hooks.example.com, *.corp.example ,10.0.0.5:8443,' }).pushAllowedHosts).toEqual([
    'hooks.example.com',
    '*.corp.example',
    '10.0.0.5:8443',
  ]);
  expect(loadConfig(['--push-allowed-hosts', ''], { MQGATE_PUSH_ALLOWED_HOSTS: 'a.example' }).pushAllowedHosts).toBeNull();
});

test('browsers and slow requests: allowed Host names, CORS origins, request and header timeouts', () => {
  expect(loadConfig([], {})).toMatchObject({ allowedHosts: [], corsOrigins: [], requestTimeoutMs: 30_000, headersTimeoutMs: 10_000 });
  expect(
    loadConfig(['--cors-origins', 'https://ops.example.com, http://[::1]:3000', '--request-timeout-ms', '5000'], {
      MQGATE_ALLOWED_HOSTS: 'mq.internal,*.corp.example',
    }),
  ).toMatchObject({
    allowedHosts: ['mq.internal', '*.corp.example'],
    corsOrigins: ['https://ops.example.com', 'http://[::1]:3000'],
    requestTimeoutMs: 5000,
    // The headers arrive within the request: their timeout follows a shorter request timeout down.
    headersTimeoutMs: 5000,
  });
  expect(loadConfig([], { MQGATE_ALLOWED_HOSTS: '*' }).allowedHosts).toEqual(['*']);
});

test.each([
  [['--push-allowed-hosts', 'https://hooks.example.com/'], {}, /'https:\/\/hooks.example.com\/' is not a host/],
  [['--cors-origins', 'https://ops.example.com/'], {}, /--cors-origins: 'https:\/\/ops.example.com\/' is not an origin/],
  [['--allowed-hosts', 'mq.internal:8080'], {}, /--allowed-hosts: 'mq.internal:8080' is not a host name/],
  [['--headers-timeout-ms', '60000'], {}, /headers timeout \(60000 ms\) must not be longer than the request timeout \(30000 ms\)/],
  [['--request-timeout-ms', '50'], {}, /--request-timeout-ms must be a whole number from 100/],
  [['--port', '70000'], {}, /--port must be a whole number from 0 to 65535; got '70000'/],
  [[], { MQGATE_PORT: 'eighty' }, /MQGATE_PORT/],
  [['--synchronous', 'OFF'], {}, /--synchronous must be one of FULL, NORMAL; got 'OFF'/],
  [['--max-message-bytes', '0'], {}, /--max-message-bytes/],
  [['--no-such-flag', 'x'], {}, /no-such-flag/],
  [['--host', ' '], {}, /must not be empty/],
])('invalid configuration is refused at start with a precise message: %j %j', (argv, env, message) => {
  expect(() => loadConfig(argv, env)).toThrow(ConfigError);
  expect(() => loadConfig(argv, env)).toThrow(message);
});

describe('API keys and access', () => {
  const entry = (id: string, scopes: string[] = ['produce:queues/orders-*']) => ({ id, name: `key ${id}`, hash: `sha256:${'ab'.repeat(32)}`, scopes });
  const doc = (...keys: object[]) => JSON.stringify({ keys });

  test('keys come from the keys file and MQGATE_KEYS together, with their scopes and limits', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'mqgate-config-'));
    const file = path.join(dir, 'keys.yaml');
    fs.writeFileSync(file, `keys:\n  - id: 0123456789ab\n    name: orders\n    hash: sha256:${'cd'.repeat(32)}\n    scopes: ['*:*']\n    limits: {requestsPerSecond: 50}\n`);
    const config = loadConfig(['--keys-file', file, '--host', '0.0.0.0'], { MQGATE_KEYS: doc(entry('ba9876543210')) });
    expect(config.keys.map((k) => [k.id, k.scopes.map((s) => s.text), k.limits])).toEqual([
      ['0123456789ab', ['*:*'], { requestsPerSecond: 50 }],
      ['ba9876543210', ['produce:queues/orders-*'], {}],
    ]);
    expect(() => loadConfig(['--keys-file', file], { MQGATE_KEYS: doc(entry('0123456789ab')) })).toThrow(/key 0123456789ab is configured twice/);
    fs.rmSync(dir, { recursive: true, force: true });
  });

  test.each([
    [doc({ ...entry('0123456789ab'), hash: 'plain-text-key' }), /keys\/0\/hash must be sha256: and 64 hex digits/],
    [doc(entry('0123456789ab', ['write:queues/x'])), /keys\/0\/scopes\/0 must be <produce\|consume\|admin\|\*>/],
    [doc(entry('0123456789ab', ['produce:queue/x'])), /keys\/0\/scopes\/0 must be/],
    [doc({ ...entry('0123456789ab'), owner: 'me' }), /keys\/0\/owner is not a known field/],
    [doc({ ...entry('0123456789ab'), limits: { requestsPerSecond: 0 } }), /keys\/0\/limits\/requestsPerSecond must be >= 1/],
    ['keys: [', /MQGATE_KEYS is not valid YAML/],
  ])('a bad keys document is refused at start naming the field: %s', (text, message) => {
    expect(() => loadConfig([], { MQGATE_KEYS: text })).toThrow(message);
  });

  test('an unreadable keys file is refused at start', () => {
    expect(() => loadConfig(['--keys-file', '/nonexistent/keys.yaml'], {})).toThrow(/keys file \/nonexistent\/keys.yaml cannot be read: ENOENT/);
  });

  test('without keys only a loopback host may be listened on, unless explicitly allowed', () => {
    for (const host of ['127.0.0.1', '127.0.0.2', 'localhost', '::1']) expect(loadConfig(['--host', host], {}).host).toBe(host);
    expect(() => loadConfig(['--host', '0.0.0.0'], {})).toThrow(ConfigError);
    expect(() => loadConfig(['--host', '0.0.0.0'], {})).toThrow(/no API keys are configured, so mqgate listens on loopback only, not '0.0.0.0'/);
    expect(loadConfig(['--host', '0.0.0.0', '--allow-unauthenticated', 'true'], {}).allowUnauthenticated).toBe(true);
    expect(() => loadConfig(['--allow-unauthenticated', 'yes'], {})).toThrow(/must be one of true, false/);
  });

  test('keys kept in the store: off unless set; they need a PostgreSQL store, exclude a keys file, and make the gateway keyed', () => {
    const store = 'postgres://mqgate@db.internal/mqgate';
    expect(loadConfig([], {}).keysInStore).toBe(false);
    const config = loadConfig(['--keys-in-store', 'true', '--host', '0.0.0.0'], { MQGATE_STORE: store, MQGATE_KEYS: doc(entry('0123456789ab')) });
    expect(config).toMatchObject({ keysInStore: true, keys: [expect.objectContaining({ id: '0123456789ab' })] });
    // No key at start, but keys come from the store: any host may be listened on, and each key gets its long-poll cap.
    expect(loadConfig(['--host', '0.0.0.0', '--store', store], { MQGATE_KEYS_IN_STORE: 'true' })).toMatchObject({
      host: '0.0.0.0',
      keys: [],
      keyLimits: { longPolls: 100 },
    });
    expect(() => loadConfig(['--keys-in-store', 'true'], {})).toThrow(ConfigError);
    expect(() => loadConfig(['--keys-in-store', 'true'], {})).toThrow(/keysInStore keeps the API keys in the PostgreSQL store: it needs one \(MQGATE_STORE/);
    const withFile = (): unknown => loadConfig(['--keys-in-store', 'true', '--store', store, '--keys-file', '/nonexistent/keys.yaml'], {});
    expect(withFile).toThrow(ConfigError);
    expect(withFile).toThrow(/keysInStore and keysFile both say where the API keys are kept: set one of them/);
    expect(() => loadConfig(['--keys-in-store', 'yes'], {})).toThrow(/--keys-in-store must be one of true, false; got 'yes'/);
  });

  test('health access, per-key limits and the storage cap', () => {
    expect(loadConfig([], {})).toMatchObject({
      healthAuth: 'open',
      keyLimits: { requestsPerSecond: null, bytesPerSecond: null, longPolls: null },
      maxStorageBytes: null,
    });
    // With keys, each gets a cap by default; without, one would cap every caller together.
    expect(loadConfig([], { MQGATE_KEYS: doc(entry('0123456789ab')) }).keyLimits.longPolls).toBe(100);
    const env = { MQGATE_HEALTH_AUTH: 'key', MQGATE_KEY_REQUESTS_PER_SECOND: '20', MQGATE_KEY_BYTES_PER_SECOND: '1048576' };
    expect(loadConfig(['--key-long-polls', '4', '--max-storage-bytes', '1073741824'], env)).toMatchObject({
      healthAuth: 'key',
      keyLimits: { requestsPerSecond: 20, bytesPerSecond: 1_048_576, longPolls: 4 },
      maxStorageBytes: 1_073_741_824,
    });
    expect(() => loadConfig(['--health-auth', 'none'], {})).toThrow(/--health-auth must be one of open, key; got 'none'/);
    expect(() => loadConfig(['--max-storage-bytes', '100'], {})).toThrow(/--max-storage-bytes must be a whole number from 65536/);
  });
});

test('log level: info unless set; an unknown level is refused at start', () => {
  expect(loadConfig([], {}).logLevel).toBe('info');
  expect(loadConfig([], { MQGATE_LOG_LEVEL: 'WARN' }).logLevel).toBe('warn');
  expect(() => loadConfig(['--log-level', 'verbose'], {})).toThrow(/--log-level must be one of fatal, error, warn, info, debug, trace, silent; got 'verbose'/);
});

describe('config file', () => {
  let dir: string;
  const write = (text: string): string => {
    const file = path.join(dir, 'mqgate.yaml');
    fs.writeFileSync(file, text);
    return file;
  };

  beforeEach(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'mqgate-config-'));
  });
  afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

  test('settings come from the YAML file named by --config or MQGATE_CONFIG; variables win over it and flags over both', () => {
    const file = write(
      [
        'port: 9001',
        'dataDir: /srv/mqgate',
        'synchronous: normal',
        'pushAllowedHosts: [hooks.example.com, "*.corp.example"]',
        'maxWaitMs: 5000',
        'logLevel: warn',
        `keys:\n  - {id: 0123456789ab, name: ops, hash: "sha256:${'ef'.repeat(32)}", scopes: ["admin:*"]}`,
        'host: 0.0.0.0',
      ].join('\n'),
    );
    expect(loadConfig(['--config', file], {})).toMatchObject({
      host: '0.0.0.0',
      port: 9001,
      dataDir: '/srv/mqgate',
      synchronous: 'NORMAL',
      pushAllowedHosts: ['hooks.example.com', '*.corp.example'],
      logLevel: 'warn',
      limits: { maxWaitMs: 5000, maxBatchMessages: 1000 },
      keys: [expect.objectContaining({ id: '0123456789ab', name: 'ops' })],
      keyLimits: { longPolls: 100 },
    });
    expect(loadConfig([], { MQGATE_CONFIG: file, MQGATE_PORT: '9002' }).port).toBe(9002);
    expect(loadConfig(['--port', '9003'], { MQGATE_CONFIG: file, MQGATE_PORT: '9002' }).port).toBe(9003);
    expect(loadConfig(['--config', write('')], {}).port).toBe(8080);
  });

  test('every bad value is named with where it came from, one line each', () => {
    const file = write('port: 70000\nsynchronous: OFF\npushAllowedHosts: [ok.example, "https://x/"]\nallowUnauthenticated: "maybe"\n');
    let message = '';
    try {
      loadConfig(['--config', file, '--max-wait-ms', 'soon'], {});
    } catch (error) {
      expect(error).toBeInstanceOf(ConfigError);
      message = (error as Error).message;
    }
    expect(message.split('\n')).toEqual([
      `port in ${file} must be a whole number from 0 to 65535; got '70000'.`,
      `synchronous in ${file} must be one of FULL, NORMAL; got '"OFF"'.`,
      `pushAllowedHosts in ${file}: 'https://x/' is not a host, host:port or *.domain.`,
      "--max-wait-ms must be a whole number from 0 to 3600000; got 'soon'.",
      `allowUnauthenticated in ${file} must be one of true, false; got '"maybe"'.`,
    ]);
  });

  test.each([
    ['prot: 8080\n', /'prot' in .* is not a setting \(see docs\/configuration.md\)/],
    ['port: [8080\n', /is not valid YAML/],
    ['- port\n', /must be a mapping of setting: value/],
    ['keys:\n  - {id: nope}\n', /keys in .*: keys\/0 must have required property 'name'; .*keys\/0\/id must be 12 hex digits/],
  ])('a file that is not a config is refused at start: %j', (text, message) => {
    expect(() => loadConfig(['--config', write(text)], {})).toThrow(message);
  });

  test('a config file that cannot be read is refused at start', () => {
    expect(() => loadConfig([], { MQGATE_CONFIG: '/nonexistent/mqgate.yaml' })).toThrow(/config file \/nonexistent\/mqgate.yaml cannot be read: ENOENT/);
  });
});

test('docs/configuration.md documents every setting: its file key, variable and flag', () => {
  const doc = fs.readFileSync(packagePath('docs', 'configuration.md'), 'utf8');
  const rows = doc.split('\n').filter((line) => line.startsWith('| `'));
  for (const setting of SETTING_NAMES) {
    const { env, flag } = sourcesOf(setting);
    const row = rows.find((line) => line.startsWith(`| \`${setting}\` |`));
    expect({ setting, row: row !== undefined && row.includes(`\`${env}\``) && row.includes(`\`${flag}\``) }).toEqual({ setting, row: true });
  }
  expect(rows).toHaveLength(SETTING_NAMES.length);
});

test.each([['compose.yaml'], ['docs/scale-out/compose.yaml']])('%s sets only settings there are, and each as the gateway reads it', (file) => {
  const compose = YAML.parse(fs.readFileSync(packagePath(...file.split('/')), 'utf8')) as { services: Record<string, { environment?: Record<string, string> }> };
  const variables = Object.fromEntries(SETTING_NAMES.map((setting) => [sourcesOf(setting).env, setting]));
  const environment = Object.fromEntries(
    Object.values(compose.services).flatMap((service) => Object.entries(service.environment ?? {}).filter(([name]) => name.startsWith('MQGATE_'))),
  );
  expect(Object.keys(environment).filter((name) => variables[name] === undefined)).toEqual([]);
  // The gateway would refuse to start on a value it cannot read.
  expect(() => loadConfig([], { ...environment, MQGATE_KEYS_FILE: undefined })).not.toThrow();
});
