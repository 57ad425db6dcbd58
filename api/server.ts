import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { parseHosts } from '../persistence/postgres/hosts';
import { PostgresStore } from '../persistence/postgres/postgresStore';
import { SqliteStore } from '../persistence/sqlite/sqliteStore';
import type { Store } from '../persistence/store';
import type { Clock } from '../queue/clock';
import type { GatewayError } from '../queue/errors';
import { storedReceiptSecret } from '../queue/receipts';
import { PARTITIONS_PER_SWEEP, startRetention } from '../queue/retention';
import { rules } from '../queue/rules';
import { Activity } from './activity';
import { createServices } from '../queue/services';
import { createApp } from './app';
import { type Config, runsOpen } from './config';
import { gatewayId } from './gatewayId';
import { KeyRing } from './keys';
import { KeysReloader, type KeysSource, keysFileSource } from './keysReload';
import { listen } from './listen';
import type { Logger } from './logging';
import { RateLimiter } from './rateLimits';
import { Metrics } from './metrics';
import { dashboardPage, docsPage } from './pages';
import { loadSpec } from './spec';
import { storedKeysSource } from './storedKeys';
import { StreamTokens } from './streamTokens';

export interface Gateway {
  url: string;
  /**
   * Reads the keys file, or the keys kept in the store, again and puts them in
   * force (SIGHUP does this); `trigger` says why, in the log. Without either
   * there is nothing to read: inline keys change only with a restart, which
   * is logged.
   */
  reloadKeys(trigger: string): Promise<void>;
  /** Stops accepting, answers waiting long-polls, finishes in-flight requests and push attempts, closes the store. */
  close(): Promise<void>;
}

export interface GatewayOptions {
  clock: Clock;
  /** Where the line per request goes. */
  logger: Logger;
  onInternalError: (error: GatewayError) => void;
  /** Failures of push deliveries and other background work. */
  onBackgroundError: (error: unknown) => void;
}

/** Wires store, semantics and HTTP together and listens. */
export async function startGateway(config: Config, options: GatewayOptions): Promise<Gateway> {
  const metrics = new Metrics();
  const instance = gatewayId(config.dataDir);
  const { store, storedKeys } = openStore(config, instance, (seconds, operations) => metrics.observeCommit(seconds, operations));
  const services = createServices(store, {
    clock: options.clock,
    limits: config.limits,
    targets: { allowedHosts: config.pushAllowedHosts },
    random: Math.random,
    onError: options.onBackgroundError,
    events: metrics,
    instance,
    ownershipMs: config.ownershipMs,
  });
  // PostgreSQL is migrated at start, and a server that cannot be reached fails the start (SQLite's file was opened above).
  const { store: storeUrl } = config;
  if (storeUrl !== null) await services.maintenance.checkReady().catch((error: unknown) => Promise.reject(unusableStore(storeUrl, error)));
  const activity = new Activity(options.clock, () => metrics.counted());
  const shutdown = new AbortController();
  const auth = {
    keys: new KeyRing(config.keys, !runsOpen(config)),
    healthAuth: config.healthAuth,
    rates: new RateLimiter(options.clock, config.keyLimits, config.gateways),
    streamTokens: new StreamTokens(storedReceiptSecret(services.maintenance), options.clock),
  };
  const keysSource = config.keysFile === null ? storedKeys : keysFileSource(config.keysFile);
  const keysReloader = keysSource === null ? null : new KeysReloader({ source: keysSource, inline: config.inlineKeys, auth, logger: options.logger, metrics });
  // The stored keys are in force before the first request; a keys file's were read with the configuration.
  if (storedKeys !== null) await keysReloader?.reload('start');
  const app = createApp({
    ...services,
    clock: options.clock,
    spec: loadSpec(config.limits),
    shutdown: shutdown.signal,
    ready: () => services.maintenance.checkReady(),
    logger: options.logger,
    limits: config.limits,
    browsers: { open: auth.keys.empty, listenHost: config.host, allowedHosts: config.allowedHosts, corsOrigins: config.corsOrigins },
    auth,
    onInternalError: options.onInternalError,
    metrics,
    activity,
    pages: { docs: docsPage(), dashboard: dashboardPage() },
  });
  const stopRetention = startRetention(services.maintenance, options.clock, {
    intervalMs: 1000,
    budget: 1000,
    idempotencyWindowMs: config.limits.idempotencyWindowMs,
    partitions: PARTITIONS_PER_SWEEP,
    holder: services.instance,
    onError: options.onBackgroundError,
  });
  const stopActivity = activity.start();
  const stopWatchingKeys = keysReloader?.watch(config.keysWatchIntervalMs) ?? (() => undefined);
  await services.dispatcher.start();
  await services.moveTasks.start();
  const server: Server = await listen(app, config.port, config.host, {
    requestMs: config.requestTimeoutMs,
    headersMs: config.headersTimeoutMs,
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
    reloadKeys(trigger) {
      if (keysReloader !== null) return keysReloader.reload(trigger);
      options.logger.warn({ trigger }, 'no keys file nor stored keys to read again: keys given inline (MQGATE_KEYS) change only with a restart');
      return Promise.resolve();
    },
    async close() {
      stopRetention();
      stopActivity();
      stopWatchingKeys();
      server.close();
      shutdown.abort();
      server.closeIdleConnections();
      const answered = new Promise<void>((resolve) => {
        drained = resolve;
        if (inFlight === 0) resolve();
      });
      const deadline = Date.now() + config.shutdownTimeoutMs;
      const timeout = (): Promise<void> => new Promise((resolve) => setTimeout(resolve, deadline - Date.now()).unref());
      await Promise.race([answered, timeout()]);
      server.closeAllConnections();
      // Push attempts and move task steps in progress finish within what is left of the bound; the rest is given back.
      await Promise.race([Promise.all([services.dispatcher.stop(), services.moveTasks.stop()]), timeout()]);
      await services.maintenance.close();
    },
  };
}

/**
 * The store the configuration names: PostgreSQL at `store` (as gateway process
 * `instance`), else the SQLite file in `dataDir`; and with keysInStore, the
 * keys kept in it.
 */
function openStore(
  config: Config,
  instance: string,
  onCommit: (seconds: number, operations: number) => void,
): { store: Store; storedKeys: KeysSource | null } {
  if (config.store !== null) {
    const store = new PostgresStore({ url: config.store, rules, onCommit, holder: instance });
    return { store, storedKeys: config.keysInStore ? storedKeysSource(store, parseHosts(config.store).name) : null };
  }
  const store = new SqliteStore({
    dataDir: config.dataDir,
    synchronous: config.synchronous,
    maxDatabaseBytes: config.maxStorageBytes ?? undefined,
    onCommit,
    rules,
  });
  return { store, storedKeys: null };
}

/** Why the PostgreSQL store cannot be used, naming the servers (never the password) and the first cause. */
export function unusableStore(url: string, error: unknown): Error {
  let cause = error;
  while (cause instanceof Error && cause.cause !== undefined) cause = cause.cause;
  const reason = cause instanceof Error ? cause.message : String(cause);
  return new Error(`the PostgreSQL store at ${parseHosts(url).name} cannot be used: ${reason}`, { cause: error });
}
