/**
 * Collects what is added during one turn of the event loop and hands it over
 * in one call: the acks of every delivery that finished in that turn become
 * one statement, their counters one update. Each `add` settles with the call
 * its value went out in.
 */
export class TurnBatch<T> {
  private pending: Array<{ value: T; resolve: () => void; reject: (error: unknown) => void }> = [];

  constructor(private readonly flush: (values: T[]) => Promise<void>) {}

  add(value: T): Promise<void> {
    return new Promise((resolve, reject) => {
      this.pending.push({ value, resolve, reject });
      if (this.pending.length === 1) setImmediate(() => void this.run());
    });
  }

  private async run(): Promise<void> {
    const batch = this.pending;
    this.pending = [];
    try {
      await this.flush(batch.map((entry) => entry.value));
      for (const entry of batch) entry.resolve();
    } catch (error) {
      for (const entry of batch) entry.reject(error);
    }
  }
}
