import type { SweepOptions } from '../persistence/store';
import { startRetention } from '../queue/retention';
import { message, settings } from './store-contract/fixtures';
import { disposeTestGateway, type TestGateway, testGateway } from './support/testGateway';

let t: TestGateway;

afterEach(() => disposeTestGateway(t));

/** Sweeps that failed (a busy database can refuse one): each is tried again on the next tick, at the same place of the walk. */
const failures: unknown[] = [];
const INTERVAL_MS = 1000;

/**
 * Waits, a turn of the loop at a time and at most 20 s (only a failing test
 * waits that long; a loaded machine has needed more than 10 s on PostgreSQL), for an asynchronous
 * condition. A failed sweep is tried again as the gateway would, on the next
 * tick, which the test's clock reaches only when moved: it is moved then.
 */
async function eventually(condition: () => Promise<boolean>): Promise<void> {
  const deadline = Date.now() + 20_000;
  let lastFailure: unknown = null;
  while (!(await condition())) {
    if (failures.length > 0) {
      lastFailure = failures.splice(0).at(-1);
      t.clock.advance(INTERVAL_MS);
    }
    if (Date.now() > deadline) throw new Error('condition not met within 20 s', { cause: lastFailure });
    await new Promise((resolve) => setImmediate(resolve));
  }
}

test('the retention loop walks the queues a slice per sweep, each sweep going on where the one before stopped', async () => {
  t = testGateway();
  const clock = t.clock;
  const names = ['a', 'b', 'c'];
  for (const name of names) {
    await t.store.putQueue({ name, settings: settings({ retentionMs: 1000 }), now: clock.now() });
    await t.store.produce({ queue: name, messages: [message(name)], now: clock.now(), idempotencyWindowMs: 60_000 });
  }
  const ready = async (): Promise<number[]> => Promise.all(names.map(async (name) => (await t.store.queueStats({ queue: name, now: clock.now() })).ready));
  // The sweeps that returned. Once one has, the loop has scheduled the next: a stats read can see a
  // sweep's commit before the sweep's caller does (on PostgreSQL), and a clock moved then would
  // leave the next sweep scheduled past it.
  let swept = 0;
  const store = {
    sweep: async (options: SweepOptions) => {
      const result = await t.store.sweep(options);
      swept += 1;
      return result;
    },
  };
  /** Moves the clock by `ms`, to the loop's next sweep, and waits until that sweep (or its retry) has returned. */
  const sweep = async (ms: number): Promise<number[]> => {
    const before = swept;
    clock.advance(ms);
    await eventually(async () => swept > before);
    return ready();
  };
  const stop = startRetention(store, clock, {
    intervalMs: INTERVAL_MS,
    budget: 100,
    idempotencyWindowMs: 60_000,
    partitions: 1,
    holder: 'gateway',
    onError: (error) => failures.push(error),
  });
  try {
    // Every message is past its retention from the first sweep on; one queue is looked at per sweep.
    expect(await sweep(1001)).toEqual([0, 1, 1]);
    expect(await sweep(INTERVAL_MS)).toEqual([0, 0, 1]);
    expect(await sweep(INTERVAL_MS)).toEqual([0, 0, 0]);
  } finally {
    stop();
  }
});
