import { formatTable, type Row } from './report';
import { produceBatch } from './scenarios/produceBatch';
import { produceSingle } from './scenarios/produceSingle';
import { readSettings } from './settings';

async function main(): Promise<void> {
  const settings = readSettings(process.env);
  const started = performance.now();
  const rows: Row[] = [];
  rows.push(await produceSingle(settings));
  rows.push(await produceBatch(settings));
  process.stdout.write(`${formatTable(rows)}\n`);
  process.stdout.write(`\nbench wall time: ${((performance.now() - started) / 1000).toFixed(1)} s\n`);
}

main().catch((error: unknown) => {
  process.stderr.write(`bench failed: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
  process.exit(1);
});
