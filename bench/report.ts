/** A number with its unit, e.g. 12,345 msg/s or 310.2 µs/msg. */
export interface Measurement {
  value: number;
  unit: string;
}

/**
 * The acceptance criterion of a row: result ÷ baseline must be at least
 * `ratio` (throughputs) or at most `ratio` (costs).
 */
export interface Target {
  comparison: '>=' | '<=';
  ratio: number;
}

/**
 * CPU time per message of one side, µs, over every run of it (warm-up
 * included): the gateway's (the bench process's where the gateway runs in
 * it), and its database server's where the store has one (PostgreSQL:
 * the postmaster and every process under it); null for SQLite.
 */
export interface SideCpu {
  gateway: number;
  server: number | null;
}

export interface Row {
  scenario: string;
  result: Measurement;
  baseline: Measurement;
  target: Target;
  /**
   * result ÷ baseline when it is not the quotient of the two columns: for
   * alternating rounds, the median of the per-round ratios (rounds.ts).
   */
  ratio?: number;
  /** What a reader needs to interpret the row (sizes chosen, how the run went). */
  notes?: string[];
  /** CPU per message of each side, for rows that meter it. */
  cpu?: { result: SideCpu; baseline: SideCpu };
}

export const atLeast = (ratio: number): Target => ({ comparison: '>=', ratio });
export const atMost = (ratio: number): Target => ({ comparison: '<=', ratio });

export function ratioOf(row: Row): number {
  return row.ratio ?? row.result.value / row.baseline.value;
}

export function meetsTarget(row: Row): boolean {
  const ratio = ratioOf(row);
  return row.target.comparison === '>=' ? ratio >= row.target.ratio : ratio <= row.target.ratio;
}

function formatMeasurement({ value, unit }: Measurement): string {
  // Rates in the thousands read best as whole numbers; per-message times need a decimal.
  const digits = value >= 1000 ? 0 : 1;
  return `${value.toLocaleString('en-US', { minimumFractionDigits: digits, maximumFractionDigits: digits })} ${unit}`;
}

/** `gateway` µs, or `gateway+server` µs where the side has a database server. */
function formatSideCpu({ gateway, server }: SideCpu): string {
  return server === null ? gateway.toFixed(0) : `${gateway.toFixed(0)}+${server.toFixed(0)}`;
}

const CPU_LEGEND =
  "cpu µs/msg: result | baseline, each the gateway's CPU per message (+ the PostgreSQL server's: postmaster and its children)," +
  ' over every round, warm-up included';

/**
 * The results table: one line per row, columns padded to their widest cell,
 * notes below. The cpu column is there when a row meters its CPU.
 */
export function formatTable(rows: Row[]): string {
  const withCpu = rows.some((row) => row.cpu !== undefined);
  const header = ['scenario', 'result', 'baseline', 'ratio', 'target', 'ok', ...(withCpu ? ['cpu µs/msg'] : [])];
  const cells = rows.map((row) => [
    row.scenario,
    formatMeasurement(row.result),
    formatMeasurement(row.baseline),
    ratioOf(row).toFixed(2),
    `${row.target.comparison}${row.target.ratio.toFixed(2)}`,
    meetsTarget(row) ? 'yes' : 'NO',
    ...(withCpu ? [row.cpu === undefined ? '' : `${formatSideCpu(row.cpu.result)} | ${formatSideCpu(row.cpu.baseline)}`] : []),
  ]);
  const widths = header.map((title, column) => Math.max(title.length, ...cells.map((line) => line[column].length)));
  const render = (line: string[]): string =>
    line
      .map((cell, column) => cell.padEnd(widths[column]))
      .join('  ')
      .trimEnd();
  const notes = rows.flatMap((row) => (row.notes ?? []).map((note) => `  ${row.scenario.split(' ')[0]} ${note}`));
  return [
    render(header),
    ...cells.map(render),
    ...(withCpu ? ['', CPU_LEGEND] : []),
    ...(notes.length > 0 ? ['', 'notes:', ...notes] : []),
  ].join('\n');
}
