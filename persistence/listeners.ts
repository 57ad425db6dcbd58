/**
 * The callbacks a store calls after its commits (`onAvailable`,
 * `onReplied`): `add` returns the function that removes one.
 */
export class Listeners<T> {
  private readonly callbacks = new Set<(value: T) => void>();

  add(callback: (value: T) => void): () => void {
    this.callbacks.add(callback);
    return () => {
      this.callbacks.delete(callback);
    };
  }

  emit(value: T): void {
    for (const callback of this.callbacks) callback(value);
  }
}
