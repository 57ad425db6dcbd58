import { type ContractContext, message, opts, settings, sweepAt, T0 } from './fixtures';

const MINUTE = 60_000;

/** Leases of work one gateway process at a time may do: one holder per name, renewed by it, free once given up or run out. */
export function describeLeases(context: ContractContext): void {
  describe('leases', () => {
    const hold = (holder: string, names: string[], ttlMs = MINUTE) => context.store.holdLeases({ names, holder, ttlMs, now: T0 });

    test('a name has one holder: others are refused until it gives the lease up, then one of them takes it', async () => {
      expect(await hold('a', ['push:x', 'sweeper'])).toEqual(expect.arrayContaining(['push:x', 'sweeper']));
      expect(await hold('b', ['push:x', 'push:y'])).toEqual(['push:y']);
      // Renewed by its holder, still its own.
      expect((await hold('a', ['push:x', 'push:y'])).sort()).toEqual(['push:x']);
      await context.store.releaseLeases({ names: ['push:x', 'push:y'], holder: 'a' });
      expect(await hold('b', ['push:x'])).toEqual(['push:x']);
      expect(await hold('a', ['push:x', 'sweeper'])).toEqual(['sweeper']);
    });

    test('a release by another process gives up nothing', async () => {
      await hold('a', ['sweeper']);
      await context.store.releaseLeases({ names: ['sweeper'], holder: 'b' });
      expect(await hold('b', ['sweeper'])).toEqual([]);
    });

    test('a lease that ran out is taken by the next process that asks', async () => {
      expect(await hold('a', ['sweeper'], 0)).toEqual(['sweeper']);
      expect(await hold('b', ['sweeper'])).toEqual(['sweeper']);
      expect(await hold('a', ['sweeper'])).toEqual([]);
    });

    test('of several processes over one store only the holder of the sweep lease sweeps', async () => {
      const { store } = context;
      await store.putQueue({ name: 'old', settings: settings({ retentionMs: 1000 }), now: T0 });
      await store.produce({ queue: 'old', messages: [message('expires')], ...opts() });
      await store.sweep(sweepAt(T0, { holder: 'a' }));
      expect(await store.sweep(sweepAt(T0 + 2000, { holder: 'b' }))).toMatchObject({ expiredMessages: 0 });
      expect(await store.sweep(sweepAt(T0 + 2000, { holder: 'a' }))).toMatchObject({ expiredMessages: 1 });
    });
  });
}
