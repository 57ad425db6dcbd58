import { SqsError } from './errors';
import type { Input } from './protocol';

/** SQS's batch limit, fixed by the protocol (mqgate's own batches are larger). */
const MAX_BATCH_ENTRIES = 10;
const ENTRY_ID = /^[A-Za-z0-9_-]{1,80}$/;

export interface BatchEntry {
  id: string;
  input: Input;
}

/**
 * A batch's entries, checked as a whole: 1 to 10 of them, each with an Id of
 * letters, digits, `-` and `_` that no other entry has. These fail the whole
 * request; what is wrong with one entry fails only that entry.
 */
export function batchEntries(input: Input, entryType: string): BatchEntry[] {
  const entries = input.inputList('Entries') ?? [];
  if (entries.length === 0) throw new SqsError('EmptyBatchRequest', `There should be at least one ${entryType} in the request.`);
  if (entries.length > MAX_BATCH_ENTRIES) {
    throw new SqsError('TooManyEntriesInBatchRequest', `Maximum number of entries per request are ${MAX_BATCH_ENTRIES}. You have sent ${entries.length}.`);
  }
  const seen = new Set<string>();
  return entries.map((entry) => {
    const id = entry.string('Id');
    if (!ENTRY_ID.test(id)) {
      throw new SqsError('InvalidBatchEntryId', 'A batch entry id can only contain alphanumeric characters, hyphens and underscores. It can be at most 80 letters long.');
    }
    if (seen.has(id)) throw new SqsError('BatchEntryIdsNotDistinct', `Id ${id} repeated.`);
    seen.add(id);
    return { id, input: entry };
  });
}

export interface FailedEntry {
  Id: string;
  SenderFault: boolean;
  Code: string;
  Message: string;
}

function failedEntry(id: string, error: SqsError): FailedEntry {
  return { Id: id, SenderFault: true, Code: error.sqsName, Message: error.message };
}

/** An entry's outcome: its success fields, or the SQS error that failed it alone. */
export type EntryOutcome = { ok: object } | { failed: SqsError };

/** Runs `check` on an entry; an SqsError fails that entry, anything else the request. */
export function outcomeOf<T>(check: () => T): { ok: T } | { failed: SqsError } {
  try {
    return { ok: check() };
  } catch (error) {
    if (error instanceof SqsError) return { failed: error };
    throw error;
  }
}

/**
 * Every entry's outcome once those that passed their checks are acted on
 * together (`act` answers one outcome per item, in order); those that failed
 * keep their failure.
 */
export async function actOnChecked<T>(
  checked: Array<{ ok: T } | { failed: SqsError }>,
  act: (items: T[]) => Promise<EntryOutcome[]>,
): Promise<EntryOutcome[]> {
  const items = checked.flatMap((outcome) => ('ok' in outcome ? [outcome.ok] : []));
  const outcomes = items.length === 0 ? [] : await act(items);
  let next = 0;
  return checked.map((outcome) => ('ok' in outcome ? outcomes[next++] : outcome));
}

/** `{Successful, Failed}` in entry order; SQS leaves out an empty Failed. */
export function batchResult(entries: BatchEntry[], outcomes: EntryOutcome[]): object {
  const successful: object[] = [];
  const failed: FailedEntry[] = [];
  outcomes.forEach((outcome, i) => {
    const { id } = entries[i];
    if ('ok' in outcome) successful.push({ Id: id, ...outcome.ok });
    else failed.push(failedEntry(id, outcome.failed));
  });
  return { Successful: successful, ...(failed.length === 0 ? {} : { Failed: failed }) };
}
