import { once } from 'node:events';
import path from 'node:path';
import { Worker } from 'node:worker_threads';

/** The compiled worker, next to this file in dist/bench/. */
const PROBE_WORKER = path.join(__dirname, 'probeWorker.js');

/** What the probe's worker is started with. */
export interface ProbeOptions {
  url: string;
  /** A GET /healthz is sent this many ms after the previous one, or once its answer is in if that took longer. */
  periodMs: number;
}

/** What the bench tells the probe's worker: answer with the samples and stop probing. */
export const STOP = 'stop';

/** One probe, as the worker answers it: one it sent, or one that was due while it waited for an answer. */
export interface ProbeSample {
  /** When it was sent or due, ms since the epoch (performance.timeOrigin + performance.now(), comparable across threads). */
  sentAt: number;
  /** From then until the answer had arrived, ms. */
  ms: number;
}

/** A stretch of the bench that the probe's latencies are reported by. */
export interface ProbedPhase {
  name: string;
  /** What the phase did, for the notes. */
  note: string;
  seconds: number;
  /** The latencies of the probes sent during the phase, ms. */
  latencies: number[];
}

/** Runs `run` as the phase `name`; `run` resolves with what it did, for the notes. */
export type During = (name: string, run: () => Promise<string>) => Promise<void>;

export const epochMs = (): number => performance.timeOrigin + performance.now();

/**
 * Probes the gateway at `url` with GET /healthz every `periodMs` on a
 * keep-alive connection of its own (probeWorker.ts) while `work` runs its
 * phases, and returns each phase with the latencies of the probes sent
 * during it. The probe runs in a worker thread: the bench's own work
 * (parsing a list of 100,000 queues) would otherwise hold up the probe's
 * timer and the reading of its answers, and count against the gateway.
 */
export async function withHealthProbe(
  options: ProbeOptions,
  work: (during: During) => Promise<void>,
): Promise<ProbedPhase[]> {
  const worker = new Worker(PROBE_WORKER, { workerData: options });
  const answer = new Promise<ProbeSample[]>((resolve, reject) => {
    worker.once('message', resolve);
    worker.once('error', reject);
  });
  // A probe that failed is reported once the phases are over, not as an unhandled rejection before.
  answer.catch(() => undefined);
  const phases: Array<Omit<ProbedPhase, 'latencies' | 'seconds'> & { start: number; end: number }> = [];
  try {
    await once(worker, 'online');
    await work(async (name, run) => {
      const start = epochMs();
      const note = await run();
      phases.push({ name, note, start, end: epochMs() });
    });
    worker.postMessage(STOP);
    const samples = await answer;
    return phases.map(({ name, note, start, end }) => ({
      name,
      note,
      seconds: (end - start) / 1000,
      latencies: samples.filter((sample) => sample.sentAt >= start && sample.sentAt < end).map((sample) => sample.ms),
    }));
  } finally {
    await worker.terminate();
  }
}
