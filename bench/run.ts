import os from 'node:os';
import { formatTable, type Row } from './report';
import { backlog } from './scenarios/backlog';
import { consume } from './scenarios/consume';
import { keyedProduce } from './scenarios/keyedProduce';
import { produceBatch } from './scenarios/produceBatch';
import { produceSingle } from './scenarios/produceSingle';
import { replayRead } from './scenarios/replayRead';
import { readSettings } from './settings';

/**
 * `npm run bench`: every scenario of the performance issue, each next to its
 * baseline measured in this same run, so the ratios hold on whatever machine
 * (and whatever load on it) the run happens on. Scenarios run one after the
 * other so that no two measured processes compete for the cores.
 *
 * All but (d) measure baseline and result in alternating rounds and report
 * the median of the per-round ratios (rounds.ts): on a shared machine one
 * measurement of each side, one after the other, swings too much.
 *
 * Environment (settings.ts; the defaults take five to six minutes on 2 cores):
 *   BENCH_ROUNDS           baseline/result round pairs of all but (d), default 5
 *   BENCH_SECONDS          measured seconds per round and side, default 5
 *   BENCH_WARMUP_SECONDS   unmeasured seconds of load on each side before its first round, default 2
 *   BENCH_BACKLOG          ready messages of (d)'s large queue, default 1,000,000
 *   BENCH_BACKLOG_SAMPLES  messages fetched and acked per queue size in (d), default 4000
 */
async function main(): Promise<void> {
  const settings = readSettings(process.env);
  const started = performance.now();
  // Progress goes to stderr: stdout is the report.
  const step = async (label: string, run: () => Promise<Row>): Promise<Row> => {
    const elapsed = ((performance.now() - started) / 1000).toFixed(0);
    process.stderr.write(`[${elapsed.padStart(3)} s] ${label}\n`);
    return run();
  };

  const rows: Row[] = [];
  rows.push(await step('(a) single-message produce vs express', () => produceSingle(settings)));
  rows.push(await step('(b) batch produce vs raw SQLite', () => produceBatch(settings)));
  rows.push(await step('(c) fetch + ack vs batch produce over HTTP', () => consume(settings)));
  rows.push(await step('(d) fetch + ack with a large backlog', () => backlog(settings.backlog, settings.backlogSamples)));
  rows.push(await step('(e) replay reads by offset vs raw SQLite', () => replayRead(settings)));
  rows.push(await step('(f) keyed produce to 12 partitions vs queue produce', () => keyedProduce(settings)));

  const wallSeconds = (performance.now() - started) / 1000;
  process.stdout.write(
    [
      '',
      `mqgate bench: all but (d) ${settings.rounds} alternating rounds of ${settings.seconds} s per side` +
        ` after ${settings.warmupSeconds} s warm-up (BENCH_ROUNDS, BENCH_SECONDS, BENCH_WARMUP_SECONDS);` +
        ` node ${process.version}, ${os.cpus().length} cores`,
      '',
      formatTable(rows),
      '',
      `wall time: ${wallSeconds.toFixed(1)} s`,
      '',
    ].join('\n'),
  );
  // The run is for reading, not gating: a missed target is reported, not an exit code.
}

main().catch((error: unknown) => {
  process.stderr.write(`bench failed: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
  process.exit(1);
});
