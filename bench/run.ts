import os from 'node:os';
import { formatTable, type Row } from './report';
import { backlog } from './scenarios/backlog';
import { consume } from './scenarios/consume';
import { produceBatch } from './scenarios/produceBatch';
import { produceSingle } from './scenarios/produceSingle';
import { readSettings } from './settings';

/**
 * `npm run bench`: every scenario of the performance issue, each next to its
 * baseline measured in this same run, so the ratios hold on whatever machine
 * (and whatever load on it) the run happens on. Scenarios run one after the
 * other so that no two measured processes compete for the cores.
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
  const batch = await step('(b) batch produce vs raw SQLite', () => produceBatch(settings));
  rows.push(batch);
  rows.push(await step('(c) fetch + ack over HTTP', () => consume(settings, batch.result)));
  rows.push(await step('(d) fetch + ack with a large backlog', () => backlog(settings.backlog, settings.backlogSamples)));

  const wallSeconds = (performance.now() - started) / 1000;
  process.stdout.write(
    [
      '',
      `mqgate bench: ${settings.seconds} s measured after ${settings.warmupSeconds} s warm-up per load run` +
        ` (BENCH_SECONDS, BENCH_WARMUP_SECONDS); node ${process.version}, ${os.cpus().length} cores`,
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
