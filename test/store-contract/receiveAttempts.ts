import type { ClaimResult, ReceiveAttempt } from '../../persistence/store';
import { type ContractContext, message, opts, T0, values } from './fixtures';

/** Claims under a receive attempt id (SQS's ReceiveRequestAttemptId): kept in the store, so any process repeats them alike. */
export function describeReceiveAttempts(context: ContractContext): void {
  describe('receive attempts', () => {
    const WINDOW_MS = 300_000;
    const attempt = (id: string): ReceiveAttempt => ({ id, windowMs: WINDOW_MS });
    const claim = (now: number, options: { max?: number; visibilityTimeoutMs?: number; attempt?: ReceiveAttempt } = {}): Promise<ClaimResult> =>
      context.store.claim({ from: { queue: 'q' }, max: options.max ?? 10, now, visibilityTimeoutMs: options.visibilityTimeoutMs ?? 1000, attempt: options.attempt });
    const deliveries = (result: ClaimResult) => result.leases.map((lease) => [lease.message.id, lease.deliveryCount, lease.firstDeliveredAt]);
    const refOf = (result: ClaimResult, i: number) => ({ subscriptionId: result.subscriptionId, messageId: result.leases[i].message.id, deliveryCount: result.leases[i].deliveryCount });

    test('a claim under an attempt id seen before gives the same leases again and renews them', async () => {
      const { store } = context;
      await store.produce({ queue: 'q', messages: ['a', 'b', 'c'].map((text) => message(text)), ...opts() });
      const first = await claim(T0, { max: 2, attempt: attempt('a1') });
      expect(first.attempt).toBeUndefined();
      expect(values(first.leases)).toEqual(['a', 'b']);
      const again = await claim(T0 + 500, { max: 2, attempt: attempt('a1') });
      expect(again.attempt).toBe('repeated');
      expect(deliveries(again)).toEqual(deliveries(first));
      expect(values(again.leases)).toEqual(['a', 'b']);
      // Renewed from the repeat: past the first lease's end, they are still leased; 'c' is all a plain claim finds.
      expect(values((await claim(T0 + 1200)).leases)).toEqual(['c']);
      // The first claim's receipts name the renewed leases: they settle; the renewed lease of the other ends a second after the repeat.
      expect(await store.settle({ at: { queue: 'q' }, refs: [refOf(first, 0)], settlement: { kind: 'ack' }, now: T0 + 1300 })).toEqual(['acked']);
      expect(values((await claim(T0 + 1500)).leases)).toEqual(['b']);
    });

    test('an attempt is spent once one of its leases is settled, extended or over; forgotten after its window', async () => {
      const { store } = context;
      await store.produce({ queue: 'q', messages: ['a', 'b', 'c'].map((text) => message(text)), ...opts() });
      const acked = await claim(T0, { max: 1, attempt: attempt('acked') });
      await store.settle({ at: { queue: 'q' }, refs: [refOf(acked, 0)], settlement: { kind: 'ack' }, now: T0 });
      expect(await claim(T0, { attempt: attempt('acked') })).toMatchObject({ attempt: 'spent', leases: [] });

      const extended = await claim(T0, { max: 1, attempt: attempt('extended') });
      expect(values(extended.leases)).toEqual(['b']);
      await store.settle({ at: { queue: 'q' }, refs: [refOf(extended, 0)], settlement: { kind: 'extend', leaseUntil: T0 + 60_000 }, now: T0 });
      expect((await claim(T0, { attempt: attempt('extended') })).attempt).toBe('spent');

      const over = await claim(T0, { max: 1, visibilityTimeoutMs: 100, attempt: attempt('over') });
      expect(values(over.leases)).toEqual(['c']);
      expect((await claim(T0 + 100, { attempt: attempt('over') })).attempt).toBe('spent');

      const later = await claim(T0 + WINDOW_MS + 1, { attempt: attempt('acked') });
      expect(later.attempt).toBeUndefined();
      expect(values(later.leases)).toEqual(['b', 'c']);
    });
  });
}
