import { execFileSync, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { packagePath } from '../persistence/packagePath';
import { killChildGateways, startChildGateway } from './support/childGateway';
import { tempDir } from './support/testGateway';

const MAIN = packagePath('dist', 'api', 'main.js');
let dir: string;

beforeEach(() => {
  dir = tempDir();
});
afterEach(() => {
  killChildGateways();
  fs.rmSync(dir, { recursive: true, force: true });
});

function createKey(keysFile: string, scopes: string[]): string {
  return execFileSync(process.execPath, [MAIN, 'keys', 'create', '--name', 'orders', '--scope', ...scopes, '--keys-file', keysFile], {
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'ignore'],
  }).trim();
}

test('mqgate keys create prints a key once and stores only its hash; the gateway started with that file lets it in', async () => {
  const keysFile = path.join(dir, 'keys.yaml');
  const key = createKey(keysFile, ['produce:queues/orders-*', 'admin:queues/orders-*']);
  expect(key).toMatch(/^mqg_[0-9a-f]{12}_[A-Za-z0-9_-]{43}$/);
  const stored = fs.readFileSync(keysFile, 'utf8');
  expect(stored).not.toContain(key.slice(17));
  expect(stored).toMatch(/hash: sha256:[0-9a-f]{64}/);
  expect(fs.statSync(keysFile).mode & 0o777).toBe(0o600);
  createKey(keysFile, ['consume:topics/*']);
  expect(stored.length).toBeLessThan(fs.readFileSync(keysFile, 'utf8').length);

  const gateway = await startChildGateway(path.join(dir, 'data'), ['--keys-file', keysFile, '--host', '0.0.0.0']);
  const url = gateway.url.replace('0.0.0.0', '127.0.0.1');
  expect((await fetch(`${url}/v1/queues/orders-1`, { method: 'PUT' })).status).toBe(401);
  const created = await fetch(`${url}/v1/queues/orders-1`, { method: 'PUT', headers: { Authorization: `Bearer ${key}` } });
  expect(created.status).toBe(201);
  const elsewhere = await fetch(`${url}/v1/queues/billing`, { method: 'PUT', headers: { Authorization: `Bearer ${key}` } });
  expect(elsewhere.status).toBe(403);
});

test('without keys the gateway refuses to listen beyond loopback, saying why, unless told to', async () => {
  await expect(startChildGateway(path.join(dir, 'data'), ['--host', '0.0.0.0'])).rejects.toThrow(
    /exited \(2\)[\s\S]*no API keys are configured, so mqgate listens on loopback only/,
  );
  const open = await startChildGateway(path.join(dir, 'data'), ['--host', '0.0.0.0', '--allow-unauthenticated', 'true']);
  expect((await fetch(`${open.url.replace('0.0.0.0', '127.0.0.1')}/v1/queues`)).status).toBe(200);
});

test('a bad scope is refused by keys create with the rule it breaks, and nothing is written', () => {
  const keysFile = path.join(dir, 'keys.yaml');
  expect(() => createKey(keysFile, ['write:queues/x'])).toThrow();
  expect(fs.existsSync(keysFile)).toBe(false);
});

test('mqgate keys revoke --keys-file removes the key from the file and says so; an id the file does not have exits 1', () => {
  const keysFile = path.join(dir, 'keys.yaml');
  const revoked = createKey(keysFile, ['produce:queues/orders-*']).slice(4, 16);
  const kept = createKey(keysFile, ['consume:topics/*']).slice(4, 16);
  const revoke = () => spawnSync(process.execPath, [MAIN, 'keys', 'revoke', revoked, '--keys-file', keysFile], { encoding: 'utf8' });
  const first = revoke();
  expect([first.status, first.stdout]).toEqual([0, expect.stringMatching(new RegExp(`^Revoked key ${revoked}: removed from ${keysFile}; `))]);
  const stored = fs.readFileSync(keysFile, 'utf8');
  expect(stored).not.toContain(revoked);
  expect(stored).toContain(`id: ${kept}`);
  const again = revoke();
  expect([again.status, again.stderr]).toEqual([1, expect.stringContaining(`no key ${revoked} in ${keysFile}: nothing revoked`)]);
  expect(fs.readFileSync(keysFile, 'utf8')).toBe(stored);
});
