import path from 'node:path';
import { ConfigError, loadConfig } from '../api/config';

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

test.each([
  [['--push-allowed-hosts', 'https://hooks.example.com/'], {}, /'https:\/\/hooks.example.com\/' is not a host/],
  [['--port', '70000'], {}, /--port must be a whole number from 0 to 65535; got '70000'/],
  [[], { MQGATE_PORT: 'eighty' }, /MQGATE_PORT/],
  [['--synchronous', 'OFF'], {}, /must be FULL or NORMAL/],
  [['--max-message-bytes', '0'], {}, /--max-message-bytes/],
  [['--no-such-flag', 'x'], {}, /no-such-flag/],
  [['--host', ' '], {}, /must not be empty/],
])('invalid configuration is refused at start with a precise message: %j %j', (argv, env, message) => {
  expect(() => loadConfig(argv, env)).toThrow(ConfigError);
  expect(() => loadConfig(argv, env)).toThrow(message);
});
