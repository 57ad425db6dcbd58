import type { Clock } from '../../queue/clock';

/** A clock that moves only when a test says so; scheduled callbacks fire on advance. */
export class ManualClock implements Clock {
  private timers: Array<{ at: number; callback: () => void }> = [];

  constructor(private current = 1_700_000_000_000) {}

  now(): number {
    return this.current;
  }

  schedule(at: number, callback: () => void): () => void {
    const timer = { at, callback };
    this.timers.push(timer);
    return () => {
      this.timers = this.timers.filter((t) => t !== timer);
    };
  }

  /** Moves time forward and fires every callback that came due, in time order. */
  advance(ms: number): void {
    this.current += ms;
    const due = this.timers.filter((t) => t.at <= this.current).sort((a, b) => a.at - b.at);
    this.timers = this.timers.filter((t) => t.at > this.current);
    for (const timer of due) timer.callback();
  }
}
