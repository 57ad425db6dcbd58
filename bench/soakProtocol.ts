/**
 * The IPC messages between bench/soak.ts and its gateway child,
 * bench/soakGateway.ts: the child measures what only it can see (its event
 * loop's delay, heap and CPU time) and hands it over when asked. Both ends
 * check what arrives: an IPC message is `unknown` until proven otherwise.
 */

/** Event-loop delay over some stretch of time, in milliseconds, the timer's resolution already taken off. */
export interface DelayStats {
  /** Delay samples taken (one per resolution tick that got to run). */
  count: number;
  p50Ms: number;
  p99Ms: number;
  maxMs: number;
  meanMs: number;
}

/** Parent → child: report now. */
export interface SampleRequest {
  type: 'sample';
  id: number;
  /** Restart the whole-run histogram after this reading (at the start of the measured window). */
  resetTotal: boolean;
}

/** Child → parent, once: the gateway listens. */
export interface ListeningMessage {
  type: 'listening';
  url: string;
}

/** Child → parent: the answer to the SampleRequest of the same id. */
export interface SampleReply {
  type: 'sample';
  id: number;
  /** Since the previous sample (or since the child started): the interval histogram restarts at every sample. */
  interval: DelayStats;
  /** Since the last sample that asked for resetTotal (or since the child started). */
  total: DelayStats;
  heapUsedBytes: number;
  externalBytes: number;
  /** process.cpuUsage() of the child so far, user + system. */
  cpuMicros: number;
  /** process.getActiveResourcesInfo().length: sockets, timers, file handles and the like, all kinds together. */
  activeResources: number;
  /** Requests answered with a 5xx (the gateway's onInternalError), so far. */
  internalErrors: number;
  /** Failures of background work (push deliveries, retention; onBackgroundError), so far. */
  backgroundErrors: number;
}

export type ChildMessage = ListeningMessage | SampleReply;

function isRecord(value: unknown): value is Record<string, unknown> {
  return value !== null && typeof value === 'object';
}

function hasNumbers(value: Record<string, unknown>, names: readonly string[]): boolean {
  return names.every((name) => typeof value[name] === 'number');
}

function isDelayStats(value: unknown): value is DelayStats {
  return isRecord(value) && hasNumbers(value, ['count', 'p50Ms', 'p99Ms', 'maxMs', 'meanMs']);
}

export function isSampleRequest(value: unknown): value is SampleRequest {
  return isRecord(value) && value.type === 'sample' && typeof value.id === 'number' && typeof value.resetTotal === 'boolean';
}

export function isChildMessage(value: unknown): value is ChildMessage {
  if (!isRecord(value)) return false;
  if (value.type === 'listening') return typeof value.url === 'string';
  return (
    value.type === 'sample' &&
    isDelayStats(value.interval) &&
    isDelayStats(value.total) &&
    hasNumbers(value, [
      'id',
      'heapUsedBytes',
      'externalBytes',
      'cpuMicros',
      'activeResources',
      'internalErrors',
      'backgroundErrors',
    ])
  );
}
