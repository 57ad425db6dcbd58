import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { Express } from 'express';
import request from 'supertest';
import { Activity } from '../../api/activity';
import { createApp } from '../../api/app';
import type { AuthOptions } from '../../api/auth';
import { type ApiKey, type KeyLimits, KeyRing } from '../../api/keys';
import { createLogger } from '../../api/logging';
import { Metrics } from '../../api/metrics';
import { dashboardPage, docsPage, type Page } from '../../api/pages';
import { RateLimiter } from '../../api/rateLimits';
import { loadSpec } from '../../api/spec';
import { StreamTokens } from '../../api/streamTokens';
import type { Fsync } from '../../persistence/sqlite/walSync';
import type { Store } from '../../persistence/store';
import type { GatewayError } from '../../queue/errors';
import { DEFAULT_LIMITS, type Limits } from '../../queue/limits';
import { storedReceiptSecret } from '../../queue/receipts';
import { createServices, type Services } from '../../queue/services';
import type { TargetPolicy } from '../../queue/push/targets';
import { ManualClock } from './manualClock';
import { openTestStore, removeTestStore } from './testStore';

export type LogLine = Record<string, unknown>;

export function tempDir(prefix = 'mqgate-test-'): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), prefix));
}

export interface TestGateway extends Services {
  metrics: Metrics;
  activity: Activity;
  pages: { docs: Page; dashboard: Page };
  app: Express;
  http: ReturnType<typeof request>;
  clock: ManualClock;
  /** The backend itself, below queue/: its refusals are StoreErrors. */
  store: Store;
  dataDir: string;
  internalErrors: GatewayError[];
  auth: AuthOptions;
  ready: () => Promise<void>;
  /** Ends long-polls and makes /readyz answer not_ready, as a SIGTERM does. */
  shutDown(): void;
  /** What the gateway logged, a parsed JSON line each. */
  logs: LogLine[];
  /** Failures of background work (push bookkeeping); a test expects none. */
  backgroundErrors: unknown[];
  close(): Promise<void>;
}

export interface TestGatewayOptions {
  limits?: Partial<Limits>;
  dataDir?: string;
  targets?: TargetPolicy;
  /** Jitter of push retries; 0.5 (no jitter) unless a test says otherwise. */
  random?: () => number;
  /** None (the default): the gateway runs open, as on loopback without keys. */
  keys?: ApiKey[];
  keyLimits?: Partial<KeyLimits>;
  /** How many gateways share the keys' limits (the `gateways` setting); 1 unless a test says otherwise. */
  gateways?: number;
  healthAuth?: 'open' | 'key';
  /** Cap on the database file, to run out of space on purpose. */
  maxStorageBytes?: number;
  /** Host names and CORS origins the browser guard lets in (api/origins.ts); none by default, as in the gateway. */
  allowedHosts?: string[];
  corsOrigins?: string[];
  /** The store's fsync of its log (default: fs.fsync); a test holds it to see what waits for it. */
  fsync?: Fsync;
  /** This gateway among those over the store (the holder of its leases); default: a random id. Another gateway's, for one restarted after a crash. */
  instance?: string;
}

/** The real app over a real SQLite file in a temp dir, with a manual clock; push deliveries and move tasks run. */
export function testGateway(options: TestGatewayOptions = {}): TestGateway {
  const clock = new ManualClock();
  const dataDir = options.dataDir ?? tempDir();
  const metrics = new Metrics();
  const store = openTestStore({
    dataDir,
    maxStorageBytes: options.maxStorageBytes,
    fsync: options.fsync,
    onCommit: (seconds, operations) => metrics.observeCommit(seconds, operations),
  });
  const limits = { ...DEFAULT_LIMITS, ...options.limits };
  const shutdown = new AbortController();
  const internalErrors: GatewayError[] = [];
  const backgroundErrors: unknown[] = [];
  const services = createServices(store, {
    clock,
    limits,
    targets: options.targets ?? { allowedHosts: null },
    random: options.random ?? (() => 0.5),
    onError: (error) => backgroundErrors.push(error),
    events: metrics,
    instance: options.instance,
  });
  const activity = new Activity(clock, () => metrics.counted());
  const stopActivity = activity.start();
  const pages = { docs: docsPage(), dashboard: dashboardPage() };
  const logs: LogLine[] = [];
  const logger = createLogger('info', { write: (line: string) => logs.push(JSON.parse(line) as LogLine) });
  const auth: AuthOptions = {
    keys: new KeyRing(options.keys ?? []),
    healthAuth: options.healthAuth ?? 'open',
    rates: new RateLimiter(clock, { requestsPerSecond: null, bytesPerSecond: null, longPolls: null, ...options.keyLimits }, options.gateways),
    streamTokens: new StreamTokens(storedReceiptSecret(services.maintenance), clock),
  };
  const app = createApp({
    ...services,
    clock,
    spec: loadSpec(limits),
    shutdown: shutdown.signal,
    limits,
    auth,
    browsers: { open: auth.keys.empty, listenHost: '127.0.0.1', allowedHosts: options.allowedHosts ?? [], corsOrigins: options.corsOrigins ?? [] },
    ready: () => services.maintenance.checkReady(),
    logger,
    onInternalError: (error) => internalErrors.push(error),
    metrics,
    activity,
    pages,
  });
  return {
    ...services,
    metrics,
    activity,
    pages,
    app,
    http: request(app),
    clock,
    store,
    dataDir,
    internalErrors,
    auth,
    ready: () => services.maintenance.checkReady(),
    shutDown: () => shutdown.abort(),
    logs,
    backgroundErrors,
    async close() {
      stopActivity();
      shutdown.abort();
      await services.dispatcher.stop();
      await services.moveTasks.stop();
      await services.maintenance.close();
    },
  };
}

/** Closes a test gateway and removes its data directory. */
export async function disposeTestGateway(gateway: TestGateway): Promise<void> {
  await gateway.close();
  await removeTestStore(gateway.dataDir);
}
