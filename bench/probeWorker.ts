import { type MessagePort, parentPort, workerData } from 'node:worker_threads';
import { JsonClient } from './httpClient';
import { sleep } from './loops';
import { epochMs, type ProbeOptions, type ProbeSample, STOP } from './probe';

/**
 * The health probe's worker (probe.ts starts it): GET /healthz on one
 * keep-alive connection of its own, 10 ms (`periodMs`) after the previous
 * one was sent, or as soon as its answer is in when that took longer, until
 * told to stop; then it answers with every probe's latency, and those of the
 * probes that were due while one waited. (Probes that each opened a
 * connection would measure something else as well: node accepts no new
 * connection while a kept-alive one keeps its event loop busy, so such a
 * probe waits for a whole run of back-to-back slow requests, not for one.)
 */
async function probe(port: MessagePort, options: ProbeOptions): Promise<void> {
  const state = { stopped: false };
  port.on('message', (command: unknown) => {
    if (command === STOP) state.stopped = true;
  });
  // Never idle long enough to meet the gateway's keep-alive timeout: it is waiting for an answer or sends within 10 ms.
  const client = new JsonClient(options.url, 1);
  const samples: ProbeSample[] = [];
  try {
    while (!state.stopped) {
      const sentAt = epochMs();
      await client.send('GET', '/healthz');
      const answeredAt = epochMs();
      const ms = answeredAt - sentAt;
      samples.push({ sentAt, ms });
      // The probes due while this one waited would have waited for the rest of it (HdrHistogram's
      // correction for coordinated omission): without them a stall would count once, however long it lasted.
      for (let late = options.periodMs; late < ms; late += options.periodMs) samples.push({ sentAt: sentAt + late, ms: ms - late });
      const wait = sentAt + options.periodMs - answeredAt;
      if (wait > 0) await sleep(wait);
    }
  } finally {
    client.close();
  }
  port.postMessage(samples);
}

if (parentPort === null) throw new Error('probeWorker.js runs as a worker thread of the bench (probe.ts)');
// workerData is what probe.ts passed: ProbeOptions. A probe that fails rejects unhandled, which ends
// the worker with an 'error' event: probe.ts reports it.
void probe(parentPort, workerData as ProbeOptions);
