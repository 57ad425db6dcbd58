import fs from 'node:fs';
import { WorkerStore } from '../persistence/sqlite/workerStore';
import { describeStoreContract, message, settings } from './store-contract';
import { tempDir } from './support/testGateway';

// The gateway's own backend: SQLite on a worker thread (compiled by `npm test`'s build step).
describeStoreContract('sqlite on a worker thread', async () => {
  const dataDir = tempDir();
  let store = new WorkerStore({ dataDir, synchronous: 'FULL' });
  return {
    store,
    async reopen() {
      await store.close();
      store = new WorkerStore({ dataDir, synchronous: 'FULL' });
      return store;
    },
    async cleanup() {
      await store.close();
      fs.rmSync(dataDir, { recursive: true, force: true });
    },
  };
});

describe('worker thread store', () => {
  test('writes sent together share one commit in the worker', async () => {
    const dataDir = tempDir();
    const store = new WorkerStore({ dataDir, synchronous: 'FULL' });
    await store.putQueue('q', settings(), 1);
    const before = await store.commitStats();
    await Promise.all(Array.from({ length: 50 }, (_, i) => store.produce('q', [message(`m${i}`)], { now: 1, idempotencyWindowMs: 1 })));
    const after = await store.commitStats();
    expect(after.operations - before.operations).toBe(50);
    expect(after.commits - before.commits).toBeLessThanOrEqual(2);
    await store.close();
    fs.rmSync(dataDir, { recursive: true, force: true });
  });

  test('a store that cannot open fails every call instead of hanging', async () => {
    const file = `${tempDir()}/not-a-directory`;
    fs.writeFileSync(file, 'x');
    const store = new WorkerStore({ dataDir: file, synchronous: 'FULL' });
    await expect(store.ready()).rejects.toThrow();
    await expect(store.listQueues()).rejects.toThrow();
  });
});
