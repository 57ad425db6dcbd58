/**
 * The servers a store URL names. libpq's URL syntax, which psql and every
 * libpq client take, lists several servers in one URL and says which kind of
 * session the client wants:
 *
 *     postgres://user:password@h1:5432,h2:5433/mqgate?target_session_attrs=read-write
 *
 * A client tries the servers in that order and keeps the first whose session
 * is of that kind (libpq checks `transaction_read_only` for `read-write`,
 * `pg_is_in_recovery()` for `primary`). `pg` parses one server only (the
 * comma makes its URL parser throw), so the URL is split here into one URL
 * per server: the same URL with that server alone and without
 * target_session_attrs, which `pg` then parses as it always did.
 */

/** The kinds of session the gateway can use: it writes, so libpq's `read-only`, `standby` and `prefer-standby` are refused. */
const TARGETS = ['any', 'read-write', 'primary'] as const;
export type SessionTarget = (typeof TARGETS)[number];

export interface StoreServer {
  /** `host:port` as the URL gives them (the port 5432 when it gives none): for messages and logs. */
  name: string;
  /** The store URL with this server alone, for `pg`. */
  url: string;
}

export interface StoreHosts {
  /** In the URL's order: the order servers are tried in. */
  servers: StoreServer[];
  /** target_session_attrs; `any` when the URL says nothing. */
  target: SessionTarget;
  /** The servers and the path, without user, password or parameters: `h1:5432,h2:5433/mqgate`. */
  name: string;
}

const DEFAULT_PORT = 5432;
const TARGET_PARAMETER = 'target_session_attrs';
/**
 * scheme, user info (up to the authority's last `@`), the servers, and the
 * rest (path, query, fragment). The authority ends at the first `/`, `?` or
 * `#`, as in any URL.
 */
const URL_PARTS = /^(postgres(?:ql)?:\/\/)(?:([^/?#]*)@)?([^/?#@]*)([^?#]*)(?:\?([^#]*))?(#.*)?$/;
/** One server: a name or address, an IPv6 address in brackets, then maybe `:port`. */
const SERVER_PARTS = /^(\[[^\]]*\]|[^:[\]]*)(?::(.*))?$/;

function parsePort(text: string | undefined, url: string): number {
  if (text === undefined || text === '') return DEFAULT_PORT;
  const port = /^\d{1,5}$/.test(text) ? Number(text) : Number.NaN;
  if (!(port >= 1 && port <= 65_535)) throw new Error(`the store URL ${redactPassword(url)} names the port '${text}', which is not a port number`);
  return port;
}

function parseTarget(value: string | undefined, url: string): SessionTarget {
  if (value === undefined) return 'any';
  const target = TARGETS.find((each) => each === value);
  if (target === undefined) {
    throw new Error(
      `the store URL ${redactPassword(url)} asks for ${TARGET_PARAMETER}=${value}; the gateway writes, so it takes ${TARGETS.join(', ')}`,
    );
  }
  return target;
}

/** `+` is a space in a query, as URLSearchParams (and so `pg`) reads it. */
const decodeQueryPart = (text: string): string => decodeURIComponent(text.replace(/\+/g, ' '));

/**
 * The servers `url` names, in order, each with a URL of its own, and the kind
 * of session wanted. Throws, naming the URL without its password, for a URL
 * that is not `postgres://` or `postgresql://`, a port that is not a number,
 * or a target_session_attrs the gateway cannot use.
 */
export function parseHosts(url: string): StoreHosts {
  const parts = URL_PARTS.exec(url);
  if (parts === null) throw new Error('the store URL is not a postgres:// URL');
  const [, scheme, userInfo, serverList, path, query, fragment] = parts;
  const parameters = query === undefined ? [] : query.split('&');
  const isTarget = (parameter: string): boolean => decodeQueryPart(parameter.split('=')[0]) === TARGET_PARAMETER;
  const targetParameter = parameters.find(isTarget);
  const targetValue = targetParameter?.slice(targetParameter.indexOf('=') + 1);
  const target = parseTarget(targetValue === undefined ? undefined : decodeQueryPart(targetValue), url);
  const kept = parameters.filter((parameter) => !isTarget(parameter));
  const rest = `${path}${kept.length === 0 ? '' : `?${kept.join('&')}`}${fragment ?? ''}`;
  const servers = serverList.split(',').map((server): StoreServer => {
    const serverParts = SERVER_PARTS.exec(server);
    if (serverParts === null) throw new Error(`the store URL ${redactPassword(url)} names the server '${server}', which is not host[:port]`);
    const [, host, portText] = serverParts;
    const port = parsePort(portText, url);
    // One server and nothing to take out: the URL itself, byte for byte, as before there were several.
    const single = serverList === server && targetParameter === undefined;
    return { name: `${host}:${port}`, url: single ? url : `${scheme}${userInfo === undefined ? '' : `${userInfo}@`}${host}:${port}${rest}` };
  });
  return { servers, target, name: `${servers.map((server) => server.name).join(',')}${path}` };
}

/** Whether there is a server to choose: several named, or one whose session must be checked. */
export function choosesServer(hosts: StoreHosts): boolean {
  return hosts.servers.length > 1 || hosts.target !== 'any';
}

/** `url` with its password as `***`, for a log line; one that is not a postgres:// URL unchanged. */
export function redactPassword(url: string): string {
  const parts = URL_PARTS.exec(url);
  const userInfo = parts?.[2];
  const colon = userInfo?.indexOf(':') ?? -1;
  if (parts === null || userInfo === undefined || colon === -1 || colon === userInfo.length - 1) return url;
  const start = parts[1].length;
  return `${url.slice(0, start)}${userInfo.slice(0, colon)}:***${url.slice(start + userInfo.length)}`;
}
