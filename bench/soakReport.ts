import type { Stopped } from './soakChild';
import { type Counts, type LoadErrors, type Operation, OPERATIONS, type ShutdownPolls } from './soakLoad';
import type { DelayStats } from './soakProtocol';

/** What waits in the gateway at a sample: a steady state keeps these flat. */
export interface Backlog {
  /** Ready, in-flight and delayed messages of the work queues. */
  queued: number;
  /** Messages in the dead-letter queue (its consumer drains it). */
  deadLetters: number;
  /** Lag of both consumer groups, summed over partitions. */
  groupLag: number;
  /** Messages the topic retains (retention deletes those older than its retentionMs). */
  topicRetained: number;
}

/** One reading of the gateway during the soak. */
export interface Sample {
  /** 'start' (after the warm-up), '+60 s', …, 'end'. */
  label: string;
  /** Seconds since the start sample. */
  atSeconds: number;
  /** Of the gateway process, from /proc/<pid>/status (VmRSS, VmHWM) and /proc/<pid>/fd. */
  rssBytes: number;
  peakRssBytes: number;
  fds: number;
  /** The gateway's data dir: database and WAL. */
  dataBytes: number;
  /** The gateway's own figures (soakGateway.ts). */
  heapUsedBytes: number;
  externalBytes: number;
  activeResources: number;
  /** Event-loop delay since the previous sample (for 'start', over the second half of the warm-up). */
  eventLoopDelay: DelayStats;
  /** The gateway's CPU time since the previous sample, in % of one core. */
  cpuPercent: number;
  /** Over the interval since the previous sample. */
  requestsPerSecond: number;
  /** Queue and topic messages produced per second. */
  producedPerSecond: number;
  /** Queue messages acked, dead letters drained and group messages fetched per second. */
  consumedPerSecond: number;
  backlog: Backlog;
  /** The load's counters since it started (warm-up included). */
  counts: Counts;
}

export interface SoakSettings {
  /** Measured seconds after the warm-up (SOAK_SECONDS, default 600). */
  seconds: number;
  /** Seconds of load before the start sample (SOAK_WARMUP_SECONDS, default 10). */
  warmupSeconds: number;
  /** Seconds between samples (SOAK_SAMPLE_SECONDS; default 60, or a quarter of a run shorter than 4 minutes). */
  sampleSeconds: number;
  /** Multiplier of every paced rate (SOAK_LOAD, default 1). */
  load: number;
  /** Where the JSON result goes (SOAK_OUT), or null. */
  out: string | null;
}

export interface SoakResult {
  mqgateSoak: 1;
  startedAt: string;
  node: string;
  cores: number;
  settings: SoakSettings;
  /** True when SIGINT ended the soak before its time. */
  interrupted: boolean;
  samples: Sample[];
  /** From the start sample to the end sample. */
  window: {
    seconds: number;
    eventLoopDelay: DelayStats;
    operations: Record<Operation, { count: number; perSecond: number }>;
  };
  errors: LoadErrors;
  gateway: {
    pid: number;
    internalErrors: number;
    backgroundErrors: number;
    stopped: Stopped;
    /** The idle long-polls that were waiting when the gateway got SIGTERM, and how they ended. */
    longPollsAtShutdown: ShutdownPolls;
  };
  /** Why the run failed; empty when it passed. */
  problems: string[];
}

const MB = 1024 * 1024;
const mb = (bytes: number): string => (bytes / MB).toFixed(1);
const ms = (value: number): string => value.toFixed(value < 10 ? 2 : 1);
const whole = (value: number): string => Math.round(value).toLocaleString('en-US');
const signed = (value: number, text: string): string => `${value >= 0 ? '+' : '-'}${text}`;

/** Columns padded to their widest cell: the first left-aligned, the others right-aligned. */
function grid(header: string[], rows: string[][]): string {
  const widths = header.map((title, column) => Math.max(title.length, ...rows.map((row) => row[column].length)));
  const render = (row: string[]): string =>
    row
      .map((cell, column) => (column === 0 ? cell.padEnd(widths[column]) : cell.padStart(widths[column])))
      .join('  ')
      .trimEnd();
  return [render(header), ...rows.map(render)].join('\n');
}

function samplesTable(samples: Sample[]): string {
  const header = [
    'at',
    'RSS MB',
    'fds',
    'ELD p50 ms',
    'p99 ms',
    'max ms',
    'heap MB',
    'CPU %',
    'data MB',
    'queued',
    'group lag',
    'req/s',
    'msg in/s',
    'msg out/s',
  ];
  const rows = samples.map((sample) => [
    sample.label,
    mb(sample.rssBytes),
    String(sample.fds),
    ms(sample.eventLoopDelay.p50Ms),
    ms(sample.eventLoopDelay.p99Ms),
    ms(sample.eventLoopDelay.maxMs),
    mb(sample.heapUsedBytes),
    sample.cpuPercent.toFixed(0),
    mb(sample.dataBytes),
    whole(sample.backlog.queued),
    whole(sample.backlog.groupLag),
    whole(sample.requestsPerSecond),
    whole(sample.producedPerSecond),
    whole(sample.consumedPerSecond),
  ]);
  return grid(header, rows);
}

function operationsTable(result: SoakResult): string {
  const rows = (Object.keys(OPERATIONS) as Operation[]).map((name) => {
    const { count, perSecond } = result.window.operations[name];
    return [OPERATIONS[name], whole(count), perSecond.toFixed(1)];
  });
  return grid(['operation', 'count', 'per s'], rows);
}

function change(start: number, end: number, format: (value: number) => string, unit: string): string {
  const delta = end - start;
  const percent = start === 0 ? '' : `, ${signed(delta, `${Math.abs((delta / start) * 100).toFixed(1)}%`)}`;
  return `${format(start)} → ${format(end)}${unit === '' ? '' : ` ${unit}`} (${signed(delta, format(Math.abs(delta)))}${percent})`;
}

const delays = (stats: DelayStats): string => `${ms(stats.p50Ms)} / ${ms(stats.p99Ms)} / ${ms(stats.maxMs)} ms`;

/** The report on stdout: the samples, start against end, the operations, and whether the run passed. */
export function formatSoak(result: SoakResult): string {
  const first = result.samples[0];
  const last = result.samples[result.samples.length - 1];
  const { settings, gateway } = result;
  const polls = gateway.longPollsAtShutdown;
  const waiting = polls.answered + polls.failed;
  const lines = [
    '',
    `mqgate bench:soak: ${result.window.seconds.toFixed(0)} s of mixed load after ${settings.warmupSeconds} s warm-up` +
      `${result.interrupted ? ' (ended early by SIGINT)' : ''}, a sample every ${settings.sampleSeconds} s` +
      ` (SOAK_SECONDS, SOAK_WARMUP_SECONDS, SOAK_SAMPLE_SECONDS), load x${settings.load} (SOAK_LOAD);` +
      ` node ${result.node}, ${result.cores} cores`,
    '',
    'gateway process (pid ' + gateway.pid + '): RSS and fds from /proc; event-loop delay (ELD), heap and CPU measured in the process,',
    'ELD and rates over the interval before each sample (for "start", the second half of the warm-up):',
    '',
    samplesTable(result.samples),
    '',
    'start → end:',
    `  RSS              ${change(first.rssBytes, last.rssBytes, mb, 'MB')}; peak ${mb(last.peakRssBytes)} MB`,
    `  open fds         ${change(first.fds, last.fds, String, '')}`,
    `  heap used        ${change(first.heapUsedBytes, last.heapUsedBytes, mb, 'MB')}`,
    `  ELD p50/p99/max  ${delays(first.eventLoopDelay)} → ${delays(last.eventLoopDelay)}; over the whole window ${delays(result.window.eventLoopDelay)}`,
    `  data dir         ${change(first.dataBytes, last.dataBytes, mb, 'MB')}`,
    '',
    `operations from start to end (${result.window.seconds.toFixed(0)} s):`,
    '',
    operationsTable(result),
    '',
    `gateway: ${gateway.internalErrors} internal errors, ${gateway.backgroundErrors} background errors;` +
      ` SIGTERM → exit ${gateway.stopped.exit} after ${gateway.stopped.shutdownMs.toFixed(0)} ms` +
      `, ${waiting} idle long-polls were waiting: ${polls.answered} answered by the shutdown, ${polls.failed} failed`,
    ...polls.failures.map((failure) => `  long-poll at shutdown: ${failure}`),
    ...result.errors.first.map((error) => `  error: ${error}`),
    '',
    result.problems.length === 0 ? 'soak passed' : `soak FAILED: ${result.problems.join('; ')}`,
    '',
  ];
  return lines.join('\n');
}
