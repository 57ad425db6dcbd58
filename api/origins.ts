import type { NextFunction, Request, RequestHandler, Response } from 'express';
import { GatewayError } from '../queue/errors';

/**
 * Which browser pages may call the gateway. A browser lets any page send a
 * "simple" cross-origin POST (text/plain, no preflight) to 127.0.0.1, and a
 * page whose name is made to resolve to 127.0.0.1 (DNS rebinding) can even
 * read the answers; without keys nothing else would stop either.
 */
export interface BrowserPolicy {
  /** Whether the gateway has no API keys (they are read at start): only then is the Host checked (a key is never sent by a browser on its own). */
  open: boolean;
  /** The address the gateway listens on; accepted as a Host unless it is a wildcard. */
  listenHost: string;
  /** Further Host names (port aside) accepted while open; `*.domain` matches subdomains, `*` turns the check off. */
  allowedHosts: string[];
  /** Origins whose pages may call every route, with CORS answers. */
  corsOrigins: string[];
}

const LOOPBACK_NAMES = ['localhost', '127.0.0.1', '[::1]'];
const WILDCARD_ADDRESSES = new Set(['0.0.0.0', '::', '[::]']);
/**
 * Methods that change nothing: a page of another origin may send them and is
 * answered (its browser keeps the answer from it unless CORS allows). A
 * preflight (OPTIONS) from such a page is refused, though, so the browser
 * sends nothing after it.
 */
const SAFE_METHODS = new Set(['GET', 'HEAD', 'OPTIONS']);
const CORS_METHODS = 'GET, HEAD, PUT, POST, DELETE';
/** Headers a page may read from a cross-origin answer beyond the CORS-safelisted ones. */
const EXPOSED_HEADERS = 'Retry-After, WWW-Authenticate, X-Request-Id';
/** A list of header names (RFC 9110 tokens; the quote and backtick escaped), as a preflight's Access-Control-Request-Headers carries them. */
const HEADER_LIST = /^[!#$%&\x27*+.^_\x60|~0-9A-Za-z-]+(\s*,\s*[!#$%&\x27*+.^_\x60|~0-9A-Za-z-]+)*$/;
const PREFLIGHT_MAX_AGE_SECONDS = '600';

/** The host name of a Host header, port aside, in lower case: `[::1]:8080` → `[::1]`. */
function hostName(host: string): string {
  const name = host.startsWith('[') ? host.slice(0, host.indexOf(']') + 1) : host.split(':')[0];
  return name.toLowerCase();
}

/** A listen address as a Host header names it: `::1` → `[::1]`. */
function asHostName(address: string): string {
  return address.includes(':') && !address.startsWith('[') ? `[${address}]` : address.toLowerCase();
}

function nameMatches(pattern: string, name: string): boolean {
  if (pattern === '*') return true;
  const wanted = pattern.toLowerCase();
  return wanted.startsWith('*.') ? name.endsWith(wanted.slice(1)) : name === wanted;
}

/** A request from a page of another origin than the gateway's; `origin` is null when only Sec-Fetch-Site says so. */
interface Foreign {
  origin: string | null;
}

/** Whether a page of another origin sent the request: null when same-origin, or not a browser's. */
function foreignPage(req: Request): Foreign | null {
  const origin = req.get('Origin');
  if (origin === undefined) return req.get('Sec-Fetch-Site') === 'cross-site' ? { origin: null } : null;
  let host: string;
  try {
    host = new URL(origin).host;
  } catch {
    // `Origin: null` (a sandboxed frame, a file:// page) and anything unparsable: not the gateway's own.
    return { origin };
  }
  return host !== '' && host === req.get('Host')?.toLowerCase() ? null : { origin };
}

function isPreflight(req: Request): boolean {
  return req.method === 'OPTIONS' && req.get('Origin') !== undefined && req.get('Access-Control-Request-Method') !== undefined;
}

/**
 * Runs before routing, on every request: the Host check while the gateway has
 * no keys (host_not_allowed), CORS answers for the allowed origins, and the
 * refusal of cross-site requests that change state from any other origin
 * (origin_not_allowed). Same-origin pages, the dashboard and /docs among
 * them, and clients that are not browsers (no Origin) pass untouched.
 */
export function browserGuard(policy: BrowserPolicy): RequestHandler {
  const listenName = asHostName(policy.listenHost);
  const names = [...LOOPBACK_NAMES, ...(WILDCARD_ADDRESSES.has(listenName) ? [] : [listenName]), ...policy.allowedHosts];
  const cors = new Set(policy.corsOrigins.map((origin) => origin.toLowerCase()));
  return (req: Request, res: Response, next: NextFunction) => {
    const host = req.get('Host');
    // A request without Host is no browser's (every browser sends one).
    if (policy.open && host !== undefined && !names.some((pattern) => nameMatches(pattern, hostName(host)))) {
      throw new GatewayError(
        'host_not_allowed',
        `This gateway has no API keys, so it answers only to its own names, not '${hostName(host)}'; add the name to --allowed-hosts to use it.`,
      );
    }
    const foreign = foreignPage(req);
    if (foreign === null) {
      next();
      return;
    }
    const { origin } = foreign;
    if (origin === null || !cors.has(origin.toLowerCase())) {
      if (isPreflight(req) || !SAFE_METHODS.has(req.method)) {
        const from = origin === null ? 'a cross-site page' : origin;
        throw new GatewayError('origin_not_allowed', `Requests from ${from} may not change anything here; add its origin to --cors-origins to allow them.`);
      }
      next();
      return;
    }
    res.set({ 'Access-Control-Allow-Origin': origin, Vary: 'Origin', 'Access-Control-Expose-Headers': EXPOSED_HEADERS });
    if (!isPreflight(req)) {
      next();
      return;
    }
    const asked = req.get('Access-Control-Request-Headers') ?? '';
    res.set({ 'Access-Control-Allow-Methods': CORS_METHODS, 'Access-Control-Max-Age': PREFLIGHT_MAX_AGE_SECONDS });
    if (HEADER_LIST.test(asked)) res.set('Access-Control-Allow-Headers', asked);
    res.status(204).end();
  };
}
