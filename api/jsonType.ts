import type { Request } from 'express';

/** `application/json` as clients spell it most often (in lower case): what needs no parsing to tell. */
export const PLAIN_JSON: ReadonlySet<string> = new Set(['application/json', 'application/json; charset=utf-8', 'application/json;charset=utf-8']);

/**
 * Whether the request has a JSON body, as `req.is('application/json')` tells
 * it (a body is one that declares a length or is chunked), without parsing
 * the content type when it is one of the plain spellings: two checks of each
 * produce asked it, at a few microseconds each.
 */
export function hasJsonBody(req: Request): boolean {
  const type = req.headers['content-type'];
  if (type !== undefined && PLAIN_JSON.has(type.toLowerCase())) {
    return req.headers['transfer-encoding'] !== undefined || !Number.isNaN(Number(req.headers['content-length']));
  }
  return Boolean(req.is('application/json'));
}
