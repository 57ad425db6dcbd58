import type { DeliveryRef } from '../persistence/store';

/**
 * A receipt names one delivery: the queue's subscription, the message and the
 * delivery count. A later delivery of the same message has a higher count, so
 * an old receipt can never settle a newer lease (fencing).
 */
export function encodeReceipt(ref: DeliveryRef): string {
  return Buffer.from(`${ref.subscriptionId}.${ref.messageId}.${ref.deliveryCount}`).toString('base64url');
}

/** The delivery a receipt names, or null when it is not a receipt at all. */
export function decodeReceipt(receipt: string): DeliveryRef | null {
  const match = /^(\d{1,15})\.(\d{1,15})\.(\d{1,9})$/.exec(Buffer.from(receipt, 'base64url').toString('latin1'));
  if (match === null) return null;
  return { subscriptionId: Number(match[1]), messageId: match[2], deliveryCount: Number(match[3]) };
}
