import type { SweepOptions, SweepResult } from '../store';

/** A partition as a sweep sees it: its topic's retention, and the value bytes it holds. */
export interface PartitionRetention {
  topic_id: number;
  partition: number;
  retention_ms: number | null;
  retention_bytes: number | null;
  bytes: number;
}

/** What a partition keeps: messages from `cutoff` on, and at most `maxBytes` of them. */
export interface RetentionLimits {
  cutoff: number;
  maxBytes: number;
}

export function retentionLimits(p: PartitionRetention, now: number): RetentionLimits {
  return { cutoff: p.retention_ms === null ? -Infinity : now - p.retention_ms, maxBytes: p.retention_bytes ?? Infinity };
}

/** Whether a partition's oldest message goes: older than the cutoff, or the partition holds more than it may. */
export function expires(timestamp: number, held: number, limits: RetentionLimits): boolean {
  return timestamp < limits.cutoff || held > limits.maxBytes;
}

/** Where a sweep goes on: after the partition a `resumeAfter` names (the last one the call before looked at); null: from the first. */
export function sweepPosition(resumeAfter: string | null): { topic: number; partition: number } {
  if (resumeAfter === null) return { topic: 0, partition: -1 };
  const [topic, partition] = resumeAfter.split(':').map(Number);
  return { topic, partition };
}

/** The `resumeAfter` of a call that looked at `p` last. */
export function sweepCursor(p: PartitionRetention): string {
  return `${p.topic_id}:${p.partition}`;
}

/** The lease of the one process that sweeps, of several over one store. */
export const SWEEP_LEASE = 'sweep';

/** What comes before a gateway process's id in its presence lease, which each of its sweeps renews: held, the process lives. */
export const PRESENCE_PREFIX = 'gateway:';

/** The leases a sweep by `holder` takes or renews: its presence, and the sweep's own. */
export function sweepLeases(holder: string): string[] {
  return [SWEEP_LEASE, PRESENCE_PREFIX + holder];
}

/** A sweep by a process that does not hold SWEEP_LEASE: nothing removed, the walk where it was. */
export function sweptNothing(options: SweepOptions): SweepResult {
  return { expiredMessages: 0, expiredKeys: 0, expiredReplies: 0, resumeAfter: options.resumeAfter };
}
