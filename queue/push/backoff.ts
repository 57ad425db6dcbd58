import type { PushBackoff } from '../../persistence/store';

/** The longest wait a receiver's `Retry-After` is honoured for. */
export const MAX_RETRY_AFTER_MS = 60 * 60 * 1000;

/**
 * The wait after failed attempt number `attempt` (1 for the first):
 * initialMs × multiplier^(attempt − 1), at most maxMs, varied at random by up
 * to ±jitter of itself so that many failing deliveries do not retry in step.
 */
export function backoffDelay(backoff: PushBackoff, attempt: number, random: () => number): number {
  const exact = Math.min(backoff.maxMs, backoff.initialMs * backoff.multiplier ** (attempt - 1));
  const varied = exact * (1 + backoff.jitter * (2 * random() - 1));
  return Math.round(Math.min(backoff.maxMs, Math.max(0, varied)));
}

/**
 * A `Retry-After` header as milliseconds from `now`: delta-seconds or an
 * HTTP date (RFC 9110 §10.2.3). Null when absent or unreadable; capped at
 * MAX_RETRY_AFTER_MS.
 */
export function parseRetryAfter(header: string | undefined, now: number): number | null {
  if (header === undefined) return null;
  const value = header.trim();
  let ms: number;
  if (/^\d+$/.test(value)) {
    ms = Number(value) * 1000;
  } else {
    // An HTTP date starts with its day name ("Wed, 25 Nov 2026 12:00:30 GMT"); Date.parse would take "-5" too.
    const date = /^[A-Za-z]{3},/.test(value) ? Date.parse(value) : Number.NaN;
    if (Number.isNaN(date)) return null;
    ms = date - now;
  }
  return Math.min(MAX_RETRY_AFTER_MS, Math.max(0, ms));
}
