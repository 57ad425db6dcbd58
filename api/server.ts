import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { SqliteStore } from '../persistence/sqlite/sqliteStore';
import type { Clock } from '../queue/clock';
import type { GatewayError } from '../queue/errors';
import { QueueService } from '../queue/queueService';
import { startRetention } from '../queue/retention';
import { TopicService } from '../queue/topicService';
import { Wakeups } from '../queue/wakeups';
import { GroupService } from '../queue/groupService';
import { SubscriptionService } from '../queue/subscriptionService';
import { createApp } from './app';
import type { Config } from './config';
import { loadSpec } from './spec';

export interface Gateway {
  url: string;
  /** Stops accepting, answers waiting long-polls, finishes in-flight requests, closes the store. */
  close(): Promise<void>;
}

export interface GatewayOptions {
  clock: Clock;
  onInternalError: (error: GatewayError) => void;
}

/** Wires store, semantics and HTTP together and listens. */
export async function startGateway(config: Config, options: GatewayOptions): Promise<Gateway> {
  const store = new SqliteStore({ dataDir: config.dataDir, synchronous: config.synchronous });
  // One registry of long-poll waiters for every kind of read.
  const wakeups = new Wakeups(store, options.clock);
  const queues = new QueueService(store, options.clock, config.limits, wakeups);
  const shutdown = new AbortController();
  const app = createApp({
    queues,
    topics: new TopicService(store, options.clock, config.limits, wakeups),
    groups: new GroupService(store, options.clock, config.limits, wakeups),
    subscriptions: new SubscriptionService(store, options.clock),
    spec: loadSpec(),
    shutdown: shutdown.signal,
    limits: config.limits,
    onInternalError: options.onInternalError,
  });
  const stopRetention = startRetention(store, options.clock, {
    intervalMs: 1000,
    budget: 1000,
    idempotencyWindowMs: config.limits.idempotencyWindowMs,
  });
  const server: Server = await new Promise((resolve, reject) => {
    const s = app.listen(config.port, config.host, () => resolve(s));
    s.once('error', reject);
  });
  // Requests not yet answered; shutdown waits for them, then drops keep-alive sockets.
  let inFlight = 0;
  let drained: (() => void) | null = null;
  server.on('request', (_req: IncomingMessage, res: ServerResponse) => {
    inFlight += 1;
    res.once('close', () => {
      inFlight -= 1;
      if (inFlight === 0) drained?.();
    });
  });
  const { address, port } = server.address() as AddressInfo;
  const host = address.includes(':') ? `[${address}]` : address;

  return {
    url: `http://${host}:${port}`,
    async close() {
      stopRetention();
      server.close();
      shutdown.abort();
      server.closeIdleConnections();
      const answered = new Promise<void>((resolve) => {
        drained = resolve;
        if (inFlight === 0) resolve();
      });
      const timeout = new Promise<void>((resolve) => setTimeout(resolve, config.shutdownTimeoutMs).unref());
      await Promise.race([answered, timeout]);
      server.closeAllConnections();
      await store.close();
    },
  };
}
