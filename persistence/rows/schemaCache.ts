import type { SchemaOwner, SchemaRecord } from '../store';

/** Owners whose answers are kept at most: past it the cache starts again empty, so 100,000 queues cost no more than this many. */
const MAX_OWNERS = 10_000;

function keyOf(owner: SchemaOwner): string {
  return 'queue' in owner ? `queue/${owner.queue}` : `topic/${owner.topic}`;
}

/**
 * A backend's getSchema answers by owner (a record, or null for no schema;
 * a missing owner is not kept), for a backend that sees every write that
 * changes them: it empties the cache in each.
 */
export class SchemaCache {
  private readonly answers = new Map<string, SchemaRecord | null>();

  /** The kept answer, or undefined when there is none. */
  get(owner: SchemaOwner): SchemaRecord | null | undefined {
    return this.answers.get(keyOf(owner));
  }

  /** Keeps `answer`, just read, and gives it back. */
  keep(owner: SchemaOwner, answer: SchemaRecord | null): SchemaRecord | null {
    if (this.answers.size >= MAX_OWNERS) this.answers.clear();
    this.answers.set(keyOf(owner), answer);
    return answer;
  }

  clear(): void {
    this.answers.clear();
  }
}
