import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { Express } from 'express';
import request from 'supertest';
import { createApp } from '../../api/app';
import { loadSpec } from '../../api/spec';
import { SqliteStore } from '../../persistence/sqlite/sqliteStore';
import type { GatewayError } from '../../queue/errors';
import { DEFAULT_LIMITS, type Limits } from '../../queue/limits';
import { QueueService } from '../../queue/queueService';
import { TopicService } from '../../queue/topicService';
import { Wakeups } from '../../queue/wakeups';
import { GroupService } from '../../queue/groupService';
import { SubscriptionService } from '../../queue/subscriptionService';
import { ManualClock } from './manualClock';

export function tempDir(prefix = 'mqgate-test-'): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), prefix));
}

export interface TestGateway {
  app: Express;
  http: ReturnType<typeof request>;
  clock: ManualClock;
  store: SqliteStore;
  queues: QueueService;
  topics: TopicService;
  groups: GroupService;
  /** Long-polls waiting right now, of every kind. */
  wakeups: Wakeups;
  dataDir: string;
  internalErrors: GatewayError[];
  close(): Promise<void>;
}

/** The real app over a real SQLite file in a temp dir, with a manual clock. */
export function testGateway(limits: Partial<Limits> = {}, dataDir = tempDir()): TestGateway {
  const clock = new ManualClock();
  const store = new SqliteStore({ dataDir, synchronous: 'FULL' });
  const allLimits = { ...DEFAULT_LIMITS, ...limits };
  const wakeups = new Wakeups(store, clock);
  const queues = new QueueService(store, clock, allLimits, wakeups);
  const shutdown = new AbortController();
  const internalErrors: GatewayError[] = [];
  const topics = new TopicService(store, clock, allLimits, wakeups);
  const groups = new GroupService(store, clock, allLimits, wakeups);
  const app = createApp({
    queues,
    topics,
    groups,
    subscriptions: new SubscriptionService(store, clock),
    spec: loadSpec(),
    shutdown: shutdown.signal,
    limits: allLimits,
    onInternalError: (error) => internalErrors.push(error),
  });
  return {
    app,
    http: request(app),
    clock,
    store,
    queues,
    topics,
    groups,
    wakeups,
    dataDir,
    internalErrors,
    async close() {
      shutdown.abort();
      await store.close();
    },
  };
}

/** Closes a test gateway and removes its data directory. */
export async function disposeTestGateway(gateway: TestGateway): Promise<void> {
  await gateway.close();
  fs.rmSync(gateway.dataDir, { recursive: true, force: true });
}
