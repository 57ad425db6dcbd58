import { createHmac, timingSafeEqual } from 'node:crypto';
import type { DeliveryRef, MaintenanceStore } from '../persistence/store';

/** The HMAC-SHA256 truncated to 128 bits: beyond guessing, and a receipt stays short. */
const TAG_BYTES = 16;

function tagOf(delivery: Buffer, secret: Buffer): Buffer {
  return createHmac('sha256', secret).update(delivery).digest().subarray(0, TAG_BYTES);
}

/**
 * A receipt names one delivery: the queue's subscription, the message and the
 * delivery count. A later delivery of the same message has a higher count, so
 * an old receipt can never settle a newer lease (fencing).
 *
 * It is base64url of a tag and that name (`<tag><subscription>.<message>.<count>`),
 * the tag being the HMAC-SHA256 of the name under the store's secret: without
 * the secret no one can name a delivery they were not given, or change one
 * they were. Any process over the same store checks it.
 */
export function encodeReceipt(ref: DeliveryRef, secret: Buffer): string {
  const delivery = Buffer.from(`${ref.subscriptionId}.${ref.messageId}.${ref.deliveryCount}`, 'latin1');
  return Buffer.concat([tagOf(delivery, secret), delivery]).toString('base64url');
}

/** The delivery a receipt names, or null when it is not a receipt signed with `secret`. */
export function decodeReceipt(receipt: string, secret: Buffer): DeliveryRef | null {
  const bytes = Buffer.from(receipt, 'base64url');
  // Node decodes leniently (it skips stray characters and spare bits): only the one spelling we issue is a receipt.
  if (bytes.length <= TAG_BYTES || bytes.toString('base64url') !== receipt) return null;
  const delivery = bytes.subarray(TAG_BYTES);
  // Constant time: how far a guess matched must not show in how long the answer took.
  if (!timingSafeEqual(bytes.subarray(0, TAG_BYTES), tagOf(delivery, secret))) return null;
  // Signed, so written by encodeReceipt: well formed.
  const [subscriptionId, messageId, deliveryCount] = delivery.toString('latin1').split('.');
  return { subscriptionId, messageId, deliveryCount: Number(deliveryCount) };
}

/**
 * The store's receipt secret, read once: it never changes for the life of the
 * data. A failed read is not kept, so the next receipt asks the store again.
 */
export function storedReceiptSecret(store: Pick<MaintenanceStore, 'receiptSecret'>): () => Promise<Buffer> {
  let secret: Promise<Buffer> | null = null;
  return () => {
    secret ??= store.receiptSecret().catch((error: unknown) => {
      secret = null;
      throw error;
    });
    return secret;
  };
}
