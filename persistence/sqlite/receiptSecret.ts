import { randomBytes } from 'node:crypto';
import type { Database } from 'better-sqlite3';
import { prepared } from './prepared';

/** 256 bits: the full strength of an HMAC-SHA256 key. */
const SECRET_BYTES = 32;

const statements = prepared((db) => ({
  // OR IGNORE: of two processes opening a new database at once, the first one's secret is the one kept.
  create: db.prepare<[Buffer]>('INSERT OR IGNORE INTO receipt_secret (id, secret) VALUES (1, ?)'),
  read: db.prepare<[]>('SELECT secret FROM receipt_secret WHERE id = 1').pluck(),
}));

/**
 * At start: gives a database without a receipt secret one, from node's
 * CSPRNG. An existing secret is never replaced: receipts already handed out
 * stay valid.
 */
export function createReceiptSecret(db: Database): void {
  statements(db).create.run(randomBytes(SECRET_BYTES));
}

/** operation: receiptSecret — the bytes as stored; what they sign is queue/receipts.ts's business. */
export function receiptSecret(db: Database): Buffer {
  return statements(db).read.get() as Buffer;
}
