import type { Response } from 'express';
import { principalOf } from './auth';

/**
 * Aborts when the client goes away before the response is written, the server
 * shuts down, or a reload of the keys ends the caller's request (its key
 * revoked, or a scope it needed taken away: Principal.reconsider).
 */
export function requestSignal(res: Response, shutdown: AbortSignal): AbortSignal {
  const gone = new AbortController();
  res.on('close', () => {
    if (!res.writableFinished) gone.abort();
  });
  return AbortSignal.any([gone.signal, shutdown, principalOf(res).ended]);
}
