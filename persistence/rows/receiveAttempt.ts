import type { Lease } from '../store';

/** One delivery a receive attempt leased: its message and delivery count (what its receipt names). */
export type AttemptDelivery = [messageId: number, deliveryCount: number];

/** The deliveries a claim's leases are, in their order. */
export function attemptDeliveries(leases: Lease[]): AttemptDelivery[] {
  return leases.map((lease) => [Number(lease.message.id), lease.deliveryCount]);
}
