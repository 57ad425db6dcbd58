import { Presets, SingleBar } from 'cli-progress';

/** Progress of a long produce or consume run, drawn on stderr. */
export interface Progress {
  /** `done` out of the total (or messages, when there is no total), and the messages so far. */
  update(done: number, messages: number): void;
  stop(): void;
}

const NONE: Progress = { update: () => undefined, stop: () => undefined };

/**
 * Whether to draw a bar: asked for (not --no-progress), stderr is a terminal,
 * and — for commands that print messages — stdout is not that terminal too,
 * where the bar would be torn up by the lines printed under it.
 */
export function progressWanted(asked: boolean, printsMessages: boolean): boolean {
  return asked && process.stderr.isTTY === true && !(printsMessages && process.stdout.isTTY === true);
}

/** A bar towards `total`, or a running count of messages when the total is unknown. */
export function startProgress(enabled: boolean, total: number | null): Progress {
  if (!enabled) return NONE;
  const format =
    total === null ? '{messages} messages | {duration_formatted}' : '{bar} {percentage}% | {messages} messages | {duration_formatted}';
  const bar = new SingleBar({ stream: process.stderr, format, hideCursor: true }, Presets.shades_classic);
  bar.start(total ?? 0, 0, { messages: 0 });
  return {
    update: (done, messages) => bar.update(done, { messages }),
    stop: () => bar.stop(),
  };
}
