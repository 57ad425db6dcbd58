import { GatewayError, invalidField } from '../errors';

/**
 * Which hosts push subscriptions may call. The gateway calls whatever URL an
 * admin configures; this list (from the config) narrows that down. Null: any.
 */
export interface TargetPolicy {
  /** Host names (`hooks.example.com`), optionally with a port (`127.0.0.1:9000`), or `*.example.com` for subdomains. */
  allowedHosts: string[] | null;
}

function hostAllowed(url: URL, pattern: string): boolean {
  const host = url.hostname.toLowerCase();
  const [name, port] = pattern.toLowerCase().split(/:(?=\d+$)/);
  if (port !== undefined && port !== (url.port || (url.protocol === 'https:' ? '443' : '80'))) return false;
  if (name.startsWith('*.')) return host.endsWith(name.slice(1));
  return host === name;
}

/**
 * The target URL of a push subscription, checked: absolute http(s), no
 * credentials in it (send them as `headers`), no fragment, and on the
 * allow-list when there is one. Throws the GatewayError a client should see.
 */
export function checkTarget(raw: string, policy: TargetPolicy): URL {
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw invalidField('/body/url', 'url must be an absolute http or https URL.');
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') throw invalidField('/body/url', 'url must use http or https.');
  if (url.username !== '' || url.password !== '') {
    throw invalidField('/body/url', 'url must not carry credentials; send them in headers (e.g. Authorization).');
  }
  if (url.hash !== '') throw invalidField('/body/url', 'url must not have a fragment.');
  if (policy.allowedHosts !== null && !policy.allowedHosts.some((pattern) => hostAllowed(url, pattern))) {
    throw new GatewayError('target_not_allowed', `Host '${url.host}' is not on this gateway's list of allowed push targets.`);
  }
  return url;
}
