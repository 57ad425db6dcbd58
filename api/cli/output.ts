import type { DeliveredMessage } from '../../queue/messages';

/** Writes one line to stdout. */
export function printLine(text: string): void {
  process.stdout.write(`${text}\n`);
}

/** One JSON document per line, for `jq` and friends. */
export function printJsonLine(value: unknown): void {
  printLine(JSON.stringify(value));
}

/** Left-aligned columns, two spaces apart; the first row is the header. */
export function printTable(rows: string[][]): void {
  const widths = rows[0].map((_, column) => Math.max(...rows.map((row) => row[column].length)));
  for (const row of rows) printLine(row.map((cell, column) => cell.padEnd(widths[column])).join('  ').trimEnd());
}

/** A message's value as a line: JSON as JSON text, text as it is, bytes as their base64. */
export function valueText(message: DeliveredMessage): string {
  return message.valueEncoding === 'json' ? JSON.stringify(message.value) : String(message.value);
}

let closed: AbortController | undefined;

/**
 * Aborts once stdout's reader has gone away (`mqgate tail t | head -3`). The
 * listener behind it also keeps that EPIPE from crashing the process with a
 * stack trace.
 */
export function stdoutClosed(): AbortSignal {
  if (closed === undefined) {
    const controller = new AbortController();
    process.stdout.on('error', () => controller.abort());
    closed = controller;
  }
  return closed.signal;
}
