import { randomBytes } from 'node:crypto';
import type { Queryable } from './connection';

/** 256 bits: the full strength of an HMAC-SHA256 key. */
const SECRET_BYTES = 32;

/**
 * At start: gives a database without a receipt secret one, from node's
 * CSPRNG. An existing secret is never replaced: receipts already handed out
 * stay valid. Of two gateways starting over a new database at once, the first
 * to commit keeps its secret; the other's insert waits for it on the primary
 * key, then does nothing.
 */
export async function createReceiptSecret(tx: Queryable): Promise<void> {
  await tx.query({
    name: 'receipt-secret-create',
    text: 'INSERT INTO receipt_secret (id, secret) VALUES (1, $1) ON CONFLICT (id) DO NOTHING',
    values: [randomBytes(SECRET_BYTES)],
  });
}

/** operation: receiptSecret — the bytes as stored; what they sign is queue/receipts.ts's business. */
export async function receiptSecret(tx: Queryable): Promise<Buffer> {
  const { rows } = await tx.query<{ secret: Buffer }>({ name: 'receipt-secret-read', text: 'SELECT secret FROM receipt_secret WHERE id = 1' });
  if (rows.length === 0) throw new Error('the database has no receipt secret: createReceiptSecret makes it at start');
  return rows[0].secret;
}
