import { type IntervalHistogram, monitorEventLoopDelay } from 'node:perf_hooks';
import { loadConfig } from '../api/config';
import { createLogger, stderr } from '../api/logging';
import { startGateway } from '../api/server';
import { systemClock } from '../queue/clock';
import { type ChildMessage, type DelayStats, isSampleRequest, type SampleReply } from './soakProtocol';

/**
 * The gateway of `npm run bench:soak`, run as a child process of
 * bench/soak.ts with an IPC channel: the real gateway (startGateway, the same
 * wiring as api/serverCommands.ts, flags as in api/config.ts) plus what only the
 * process itself can measure — its event-loop delay (perf_hooks), heap and
 * CPU time — handed to the parent when it asks (soakProtocol.ts). Nothing of
 * this is in the gateway's own code.
 *
 * On SIGTERM (or SIGINT, or the parent going away) it shuts the gateway down
 * gracefully and exits 0, or 1 if the shutdown failed.
 */

/** The histograms' timer period. Each sample is the time between two ticks, so the delay is that minus this. */
const RESOLUTION_MS = 10;
/** Internal errors written to stderr one by one; after that only every 1000th, so a broken run cannot flood the parent. */
const LOGGED_ERRORS = 20;

function delayOf(histogram: IntervalHistogram): DelayStats {
  if (histogram.count === 0) return { count: 0, p50Ms: 0, p99Ms: 0, maxMs: 0, meanMs: 0 };
  const delay = (nanoseconds: number): number => Math.max(0, nanoseconds / 1e6 - RESOLUTION_MS);
  return {
    count: histogram.count,
    p50Ms: delay(histogram.percentile(50)),
    p99Ms: delay(histogram.percentile(99)),
    maxMs: delay(histogram.max),
    meanMs: delay(histogram.mean),
  };
}

function send(message: ChildMessage): void {
  // A parent that has gone away cannot be told; the 'disconnect' handler stops the gateway.
  if (process.connected && process.send !== undefined) process.send(message);
}

async function main(): Promise<void> {
  if (process.send === undefined) {
    throw new Error('bench/soakGateway.js is the child of bench/soak.js and needs its IPC channel; run npm run bench:soak');
  }
  const config = loadConfig(process.argv.slice(2), process.env);
  // Two histograms: one restarted at every sample (that sample's interval), one over the measured window.
  const interval = monitorEventLoopDelay({ resolution: RESOLUTION_MS });
  const total = monitorEventLoopDelay({ resolution: RESOLUTION_MS });
  interval.enable();
  total.enable();

  const errors = { internal: 0, background: 0 };
  const logError = (count: number, what: string, error: unknown): void => {
    if (count <= LOGGED_ERRORS || count % 1000 === 0) process.stderr.write(`${what} #${count}: ${String(error)}\n`);
  };
  const gateway = await startGateway(config, {
    clock: systemClock,
    // A line per request would flood the soak's own output; warnings and errors still come through.
    logger: createLogger('warn', stderr()),
    onInternalError: (error) => {
      errors.internal += 1;
      logError(errors.internal, 'internal error', error.cause ?? error.message);
    },
    onBackgroundError: (error) => {
      errors.background += 1;
      logError(errors.background, 'background error', error);
    },
  });
  process.stderr.write(`mqgate soak gateway listening on ${gateway.url} (pid ${process.pid})\n`);
  send({ type: 'listening', url: gateway.url });

  process.on('message', (message: unknown) => {
    if (!isSampleRequest(message)) return;
    const memory = process.memoryUsage();
    const cpu = process.cpuUsage();
    const reply: SampleReply = {
      type: 'sample',
      id: message.id,
      interval: delayOf(interval),
      total: delayOf(total),
      heapUsedBytes: memory.heapUsed,
      externalBytes: memory.external,
      cpuMicros: cpu.user + cpu.system,
      activeResources: process.getActiveResourcesInfo().length,
      internalErrors: errors.internal,
      backgroundErrors: errors.background,
    };
    interval.reset();
    if (message.resetTotal) total.reset();
    send(reply);
  });

  let stopping = false;
  const stop = (why: string): void => {
    if (stopping) return;
    stopping = true;
    process.stderr.write(`${why}: shutting down\n`);
    interval.disable();
    total.disable();
    gateway.close().then(
      () => process.exit(0),
      (error: unknown) => {
        process.stderr.write(`shutdown failed: ${String(error)}\n`);
        process.exit(1);
      },
    );
  };
  process.on('SIGTERM', () => stop('SIGTERM'));
  process.on('SIGINT', () => stop('SIGINT'));
  process.on('disconnect', () => stop('parent gone'));
}

main().catch((error: unknown) => {
  process.stderr.write(`soak gateway failed: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
  process.exit(1);
});
