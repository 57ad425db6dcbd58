/** What a key may do to a resource. `admin` manages it; it does not imply produce or consume. */
export type Action = 'produce' | 'consume' | 'admin';

export const RESOURCE_KINDS = ['queues', 'topics', 'push-subscriptions'] as const;
export type ResourceKind = (typeof RESOURCE_KINDS)[number];

/** One grant: `produce:queues/orders-*`, `*:topics/*`, `consume:*`, or `metrics`. */
export interface Scope {
  text: string;
  /** null: all three actions (`*`), and for `metrics`, which grants no action on any resource. */
  action: Action | null;
  /** null: every kind (`*`). */
  kind: ResourceKind | null;
  /** Matches names of `kind`; `*` in the pattern matches any run of characters. null for `metrics`. */
  names: RegExp | null;
  /** Whether `names` matches every name (`*`, `queues/*`). */
  everyName: boolean;
  /**
   * Whether it lets the key read what counts every resource (`/metrics`,
   * `/v1/activity`): `metrics` itself, and `admin:*` or `*:*`, which already
   * see every name.
   */
  observes: boolean;
}

/** The scope that reads `/metrics` and `/v1/activity` and nothing else: a Prometheus scraper's key. */
export const METRICS_SCOPE = 'metrics';

/** The syntax of a scope, as the keys file schema checks it. */
export const SCOPE_PATTERN = '^(metrics|(produce|consume|admin|\\*):(\\*|(queues|topics|push-subscriptions)/[A-Za-z0-9._*-]{1,249}))$';

function glob(pattern: string): RegExp {
  return new RegExp(`^${pattern.split('*').map((part) => part.replace(/[.+?^${}()|[\]\\-]/g, '\\$&')).join('.*')}$`);
}

/** Parses a scope that already matched SCOPE_PATTERN. */
export function parseScope(text: string): Scope {
  if (text === METRICS_SCOPE) return { text, action: null, kind: null, names: null, everyName: false, observes: true };
  const [action, resource] = text.split(/:(.*)/s, 2);
  const slash = resource.indexOf('/');
  return {
    text,
    action: action === '*' ? null : (action as Action),
    kind: slash < 0 ? null : (resource.slice(0, slash) as ResourceKind),
    names: slash < 0 ? /^/ : glob(resource.slice(slash + 1)),
    everyName: slash < 0 || resource.slice(slash + 1) === '*',
    observes: resource === '*' && (action === 'admin' || action === '*'),
  };
}

/** Whether `scope` grants `action` (null: any action) on resources of `kind`, whichever names. */
function grantsOn(scope: Scope, action: Action | null, kind: ResourceKind): boolean {
  return scope.names !== null && (scope.action === null || action === null || scope.action === action) && (scope.kind === null || scope.kind === kind);
}

/** Whether the scopes grant `action` (null: any action) on `kind/name` (name null: some resource of `kind`). */
export function grants(scopes: Scope[], action: Action | null, kind: ResourceKind, name: string | null): boolean {
  return scopes.some((scope) => grantsOn(scope, action, kind) && (name === null || scope.names?.test(name) === true));
}

/** Whether the scopes grant `action` on every resource of `kind`, whatever its name. */
export function grantsEvery(scopes: Scope[], action: Action | null, kind: ResourceKind): boolean {
  return scopes.some((scope) => grantsOn(scope, action, kind) && scope.everyName);
}
