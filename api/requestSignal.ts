import type { Response } from 'express';

/** Aborts when the client goes away before the response is written, or the server shuts down. */
export function requestSignal(res: Response, shutdown: AbortSignal): AbortSignal {
  const gone = new AbortController();
  res.on('close', () => {
    if (!res.writableFinished) gone.abort();
  });
  return AbortSignal.any([gone.signal, shutdown]);
}
