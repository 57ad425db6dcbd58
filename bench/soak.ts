import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { requestOnce } from './httpClient';
import { type GatewayReading, type SoakGateway, withSoakGateway } from './soakChild';
import { pathOf } from './soakClient';
import { type Counts, DEAD_LETTER_QUEUE, GROUPS, type Operation, OPERATIONS, SoakLoad, TOPIC, WORK_QUEUES } from './soakLoad';
import { type Backlog, formatSoak, type Sample, type SoakResult, type SoakSettings } from './soakReport';

/**
 * `npm run bench:soak`: mixed load against one gateway for a long time, to
 * see whether it holds steady — resident memory, open file descriptors and
 * event-loop delay at the start and at the end, with samples in between, and
 * what the load got done. Not a comparison: the figures are for reading, and
 * the run fails only on errors (an unexpected HTTP answer, a 5xx, a gateway
 * that does not exit 0 on SIGTERM).
 *
 * The gateway runs in a child process (bench/soakGateway.ts) with a temp data
 * dir, so the load generator does not share its event loop; RSS and fds are
 * read from /proc/<pid>, the event-loop delay is measured by the gateway
 * process itself (perf_hooks.monitorEventLoopDelay) and fetched over IPC.
 *
 * The load (bench/soakLoad.ts): paced single and batch produce to two queues
 * with a dead-letter queue; consumers fetching under 3 s leases, acking most,
 * nacking 5 % and leaving 5 % to expire; keyed topic produce with a 60 s
 * retention, read by a simple consumer group and a two-member group
 * (fetch + commit); idle long-polls on a queue and a topic partition; and a
 * queue created, used and deleted twice a second. At the end the active
 * loops stop, the gateway gets SIGTERM with the idle long-polls still waiting,
 * and must answer them and exit 0.
 *
 * Environment:
 *   SOAK_SECONDS          measured seconds after the warm-up, default 600
 *   SOAK_WARMUP_SECONDS   load before the start sample, default 10
 *   SOAK_SAMPLE_SECONDS   seconds between samples, default 60 (a quarter of runs under 4 minutes)
 *   SOAK_LOAD             multiplier of the paced producer rates, default 1 (about 1,100 msg/s in, 600 req/s)
 *   SOAK_OUT              write the result as JSON to this path too
 * Ctrl-C ends the soak early and still reports.
 */

function positive(env: NodeJS.ProcessEnv, name: string, fallback: number): number {
  const raw = env[name];
  if (raw === undefined || raw.trim() === '') return fallback;
  const value = Number(raw);
  if (!Number.isFinite(value) || value <= 0) throw new Error(`${name} must be a positive number; got '${raw}'.`);
  return value;
}

function readSettings(env: NodeJS.ProcessEnv): SoakSettings {
  const seconds = positive(env, 'SOAK_SECONDS', 600);
  const out = env.SOAK_OUT?.trim() ?? '';
  return {
    seconds,
    warmupSeconds: positive(env, 'SOAK_WARMUP_SECONDS', 10),
    sampleSeconds: positive(env, 'SOAK_SAMPLE_SECONDS', Math.min(60, seconds / 4)),
    load: positive(env, 'SOAK_LOAD', 1),
    out: out === '' ? null : path.resolve(out),
  };
}

/** Waits that end early on SIGINT, without leaving a timer behind. */
class Clock {
  interrupted = false;
  private wake: () => void = () => undefined;

  interrupt(): void {
    this.interrupted = true;
    this.wake();
  }

  async until(at: number): Promise<void> {
    const ms = at - performance.now();
    if (this.interrupted || ms <= 0) return;
    await new Promise<void>((resolve) => {
      const timer = setTimeout(resolve, ms);
      this.wake = () => {
        clearTimeout(timer);
        resolve();
      };
    });
  }
}

const number = (value: unknown): number => (typeof value === 'number' ? value : 0);

/** What waits in the gateway now, from its own stats endpoints. */
async function readBacklog(url: string): Promise<Backlog> {
  const queued = async (queue: string): Promise<number> => {
    const view = await requestOnce<unknown>(url, 'GET', `/v1/queues/${queue}`);
    return ['ready', 'inFlight', 'delayed'].reduce((sum, name) => sum + number(pathOf(view, ['stats', name])), 0);
  };
  const lag = async (group: string): Promise<number> => {
    const partitions = pathOf(await requestOnce<unknown>(url, 'GET', `/v1/topics/${TOPIC}/groups/${group}`), ['partitions']);
    return Array.isArray(partitions) ? partitions.reduce<number>((sum, partition) => sum + number(pathOf(partition, ['lag'])), 0) : 0;
  };
  const topic = await requestOnce<unknown>(url, 'GET', `/v1/topics/${TOPIC}`);
  const partitions = pathOf(topic, ['stats', 'partitions']);
  const retained = Array.isArray(partitions)
    ? partitions.reduce<number>((sum, p) => sum + number(pathOf(p, ['endOffset'])) - number(pathOf(p, ['startOffset'])), 0)
    : 0;
  let queuedSum = 0;
  for (const queue of WORK_QUEUES) queuedSum += await queued(queue);
  let lagSum = 0;
  for (const group of GROUPS) lagSum += await lag(group);
  return { queued: queuedSum, deadLetters: await queued(DEAD_LETTER_QUEUE), groupLag: lagSum, topicRetained: retained };
}

/** A reading with the moment it was taken and the load's counters then. */
interface Mark {
  at: number;
  reading: GatewayReading;
  counts: Counts;
}

function toSample(label: string, mark: Mark, previous: Mark, windowStart: number, backlog: Backlog): Sample {
  const seconds = (mark.at - previous.at) / 1000;
  const rate = (pick: (counts: Counts) => number): number => (pick(mark.counts) - pick(previous.counts)) / seconds;
  const { self } = mark.reading;
  return {
    label,
    atSeconds: (mark.at - windowStart) / 1000,
    rssBytes: mark.reading.rssBytes,
    peakRssBytes: mark.reading.peakRssBytes,
    fds: mark.reading.fds,
    dataBytes: mark.reading.dataBytes,
    heapUsedBytes: self.heapUsedBytes,
    externalBytes: self.externalBytes,
    activeResources: self.activeResources,
    eventLoopDelay: self.interval,
    cpuPercent: ((self.cpuMicros - previous.reading.self.cpuMicros) / 1000 / (mark.at - previous.at)) * 100,
    requestsPerSecond: rate((counts) => counts.requests),
    producedPerSecond: rate((counts) => counts.queueMessagesProduced + counts.topicMessagesProduced),
    consumedPerSecond: rate((counts) => counts.acked + counts.deadLettersDrained + counts.groupMessagesFetched),
    backlog,
    counts: mark.counts,
  };
}

const progress = (started: number, text: string): void => {
  const elapsed = ((performance.now() - started) / 1000).toFixed(0);
  process.stderr.write(`[${elapsed.padStart(4)} s] ${text}\n`);
};

async function soak(settings: SoakSettings, clock: Clock): Promise<SoakResult> {
  const started = performance.now();
  const startedAt = new Date().toISOString();
  const { result, stopped } = await withSoakGateway(async (gateway: SoakGateway) => {
    const load = new SoakLoad(gateway.url, settings.load);
    const samples: Sample[] = [];
    const mark = async (resetTotal: boolean): Promise<Mark> => {
      const reading = await gateway.read(resetTotal);
      return { at: performance.now(), reading, counts: load.snapshot() };
    };
    const record = async (label: string, current: Mark, previous: Mark, windowStart: number): Promise<void> => {
      const sample = toSample(label, current, previous, windowStart, await readBacklog(gateway.url));
      samples.push(sample);
      progress(
        started,
        `${label}: RSS ${(sample.rssBytes / 1024 / 1024).toFixed(1)} MB, ${sample.fds} fds, ELD p99 ${sample.eventLoopDelay.p99Ms.toFixed(2)} ms,` +
          ` ${sample.requestsPerSecond.toFixed(0)} req/s, ${sample.backlog.queued} queued`,
      );
    };

    progress(started, `gateway pid ${gateway.pid} at ${gateway.url}; ${settings.warmupSeconds} s warm-up, then ${settings.seconds} s measured`);
    let first: Mark;
    let last: Mark;
    let shutdown: ReturnType<SoakLoad['finishIdle']>;
    try {
      await load.start();
      const loadStart = performance.now();
      // Half-way through the warm-up the delay histogram restarts: the start sample leaves out startup and the first JIT.
      await clock.until(loadStart + (settings.warmupSeconds * 1000) / 2);
      let previous = await mark(false);
      await clock.until(loadStart + settings.warmupSeconds * 1000);
      first = await mark(true);
      await record('start', first, previous, first.at);
      previous = first;
      for (let k = 1; k * settings.sampleSeconds < settings.seconds - 1e-9; k += 1) {
        await clock.until(first.at + k * settings.sampleSeconds * 1000);
        if (clock.interrupted) break;
        const current = await mark(false);
        await record(`+${Number((k * settings.sampleSeconds).toFixed(1))} s`, current, previous, first.at);
        previous = current;
      }
      await clock.until(first.at + settings.seconds * 1000);
      last = await mark(false);
      await record('end', last, previous, first.at);
    } finally {
      progress(started, 'stopping the load; then SIGTERM with the idle long-polls still waiting');
      await load.stopActive();
      shutdown = load.finishIdle();
      await gateway.stop();
    }
    const windowSeconds = (last.at - first.at) / 1000;
    const operations = {} as SoakResult['window']['operations'];
    for (const name of Object.keys(OPERATIONS) as Operation[]) {
      const count = last.counts[name] - first.counts[name];
      operations[name] = { count, perSecond: count / windowSeconds };
    }
    return {
      pid: gateway.pid,
      samples,
      windowSeconds,
      windowDelay: last.reading.self.total,
      operations,
      internalErrors: last.reading.self.internalErrors,
      backgroundErrors: last.reading.self.backgroundErrors,
      longPollsAtShutdown: await shutdown,
      errors: load.errors(),
      totalErrors: load.snapshot().errors,
    };
  });
  progress(started, `gateway exited with ${stopped.exit} ${stopped.shutdownMs.toFixed(0)} ms after SIGTERM; data dir removed`);

  const problems: string[] = [];
  if (result.totalErrors > 0) {
    const where = Object.entries(result.errors.byWorkload).map(([name, count]) => `${name} ${count}`);
    problems.push(`${result.totalErrors} unexpected errors (${where.join(', ')})`);
  }
  if (result.internalErrors > 0) problems.push(`${result.internalErrors} internal errors in the gateway`);
  if (result.backgroundErrors > 0) problems.push(`${result.backgroundErrors} background errors in the gateway`);
  if (stopped.exit !== 'code 0') problems.push(`the gateway exited with ${stopped.exit} on SIGTERM`);
  if (result.longPollsAtShutdown.failed > 0) {
    problems.push(`${result.longPollsAtShutdown.failed} long-polls waiting at SIGTERM failed instead of being answered`);
  }
  return {
    mqgateSoak: 1,
    startedAt,
    node: process.version,
    cores: os.cpus().length,
    settings,
    interrupted: clock.interrupted,
    samples: result.samples,
    window: { seconds: result.windowSeconds, eventLoopDelay: result.windowDelay, operations: result.operations },
    errors: result.errors,
    gateway: {
      pid: result.pid,
      internalErrors: result.internalErrors,
      backgroundErrors: result.backgroundErrors,
      stopped,
      longPollsAtShutdown: result.longPollsAtShutdown,
    },
    problems,
  };
}

async function main(): Promise<void> {
  const settings = readSettings(process.env);
  const clock = new Clock();
  process.once('SIGINT', () => {
    process.stderr.write('SIGINT: ending the soak early (again to abort)\n');
    clock.interrupt();
    process.once('SIGINT', () => process.exit(130));
  });
  const result = await soak(settings, clock);
  process.stdout.write(formatSoak(result));
  if (settings.out !== null) {
    fs.mkdirSync(path.dirname(settings.out), { recursive: true });
    fs.writeFileSync(settings.out, `${JSON.stringify(result, null, 2)}\n`);
    process.stderr.write(`result written to ${settings.out}\n`);
  }
  if (result.problems.length > 0) process.exitCode = 1;
}

main().catch((error: unknown) => {
  process.stderr.write(`soak failed: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
  process.exit(1);
});
