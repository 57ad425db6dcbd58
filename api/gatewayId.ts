import { randomUUID } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';

const FILE = 'gateway-id';
const ID = /^[0-9a-f-]{36}$/;

/**
 * This gateway process's id among those over one store (Services.instance),
 * kept in its data directory: a gateway started again on the same directory
 * is the same holder of leases, and takes back at once the push
 * subscriptions and the sweep it held when it stopped, instead of waiting
 * for its own leases to run out. Gateways over one PostgreSQL database must
 * each have a data directory of their own.
 */
export function gatewayId(dataDir: string): string {
  const file = path.join(dataDir, FILE);
  const kept = fs.existsSync(file) ? fs.readFileSync(file, 'utf8').trim() : '';
  if (ID.test(kept)) return kept;
  const id = randomUUID();
  fs.mkdirSync(dataDir, { recursive: true });
  fs.writeFileSync(file, `${id}\n`);
  return id;
}
