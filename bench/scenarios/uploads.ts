import fs from 'node:fs';
import http from 'node:http';
import { withGateway } from '../gateway';
import { requestOnce } from '../httpClient';
import { withHealthProbe } from '../probe';
import { atMost, type Row } from '../report';
import { quantile } from '../rounds';
import { withTempDir } from '../tempDir';

const UPLOADS = 200;
const UPLOAD_BYTES = 10 * 1024 * 1024;
/** The gateway's default maxBodyBytesInFlight. */
const BUDGET_BYTES = 256 * 1024 * 1024;
const MIB = 1024 * 1024;
const PROBE_PERIOD_MS = 10;

/** A line of /proc/<pid>/status in bytes: VmRSS now, VmHWM the peak so far. */
function resident(pid: number, field: 'VmRSS' | 'VmHWM'): number {
  const line = fs.readFileSync(`/proc/${pid}/status`, 'utf8').split('\n').find((l) => l.startsWith(`${field}:`));
  return Number(/(\d+)/.exec(line ?? '')?.[1]) * 1024;
}

/** POSTs `body` as a produce and resolves with the status, or 0 when the connection closed before an answer could be read. */
function upload(url: URL, agent: http.Agent, body: Buffer): Promise<number> {
  return new Promise((resolve) => {
    const req = http.request(
      { host: url.hostname, port: url.port, method: 'POST', path: '/v1/queues/big/messages', agent },
      (res) => {
        res.resume();
        res.on('end', () => resolve(res.statusCode ?? 0));
      },
    );
    req.setHeader('content-type', 'application/json');
    req.setHeader('content-length', body.length);
    // Refused before its body was read, the connection closes under the rest of it: answered all the same.
    req.on('error', () => resolve(0));
    req.end(body);
  });
}

/**
 * (l) 200 concurrent produce bodies of 10 MB each (one message over the
 * largest allowed, as the issue measured them) at a gateway with the default
 * body budget: its peak RSS growth against the budget, how long until every
 * one is answered, and /healthz latency meanwhile.
 */
export async function uploads(): Promise<Row> {
  return withTempDir('uploads', (dir) =>
    withGateway(dir, 'FULL', async (gatewayUrl, pid) => {
      await requestOnce(gatewayUrl, 'PUT', '/v1/queues/big', '{}');
      const before = resident(pid, 'VmRSS');
      const body = Buffer.from(`{"messages":[{"value":"${'x'.repeat(UPLOAD_BYTES - 40)}"}]}`);
      const agent = new http.Agent({ maxSockets: UPLOADS });
      let statuses: number[] = [];
      const [phase] = await withHealthProbe({ url: gatewayUrl, periodMs: PROBE_PERIOD_MS }, (during) =>
        during('uploads', async () => {
          statuses = await Promise.all(Array.from({ length: UPLOADS }, () => upload(new URL(gatewayUrl), agent, body)));
          return `${UPLOADS} uploads`;
        }),
      );
      agent.destroy();
      const peak = resident(pid, 'VmHWM');
      await new Promise((resolve) => setTimeout(resolve, 3000));
      const later = resident(pid, 'VmRSS');
      const byStatus = new Map<number, number>();
      for (const status of statuses) byStatus.set(status, (byStatus.get(status) ?? 0) + 1);
      return {
        scenario: `(l) ${UPLOADS} x 10 MB produce bodies at once`,
        result: { value: (peak - before) / MIB, unit: 'MiB RSS growth' },
        baseline: { value: BUDGET_BYTES / MIB, unit: 'MiB budget' },
        target: atMost(1.5),
        notes: [
          `all answered in ${phase.seconds.toFixed(1)} s: ${[...byStatus].map(([status, n]) => `${n} x ${status === 0 ? 'closed unread' : status}`).join(', ')}`,
          `peak RSS ${(peak / MIB).toFixed(0)} MiB (from ${(before / MIB).toFixed(0)}), ${(later / MIB).toFixed(0)} MiB 3 s later`,
          `/healthz every ${PROBE_PERIOD_MS} ms meanwhile (a probe of its own, bench/probe.ts): p50 ${quantile(phase.latencies, 0.5).toFixed(1)} ms, p99 ${quantile(phase.latencies, 0.99).toFixed(1)} ms`,
        ],
      };
    }),
  );
}
