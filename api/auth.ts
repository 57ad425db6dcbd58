import type { NextFunction, Request, RequestHandler, Response } from 'express';
import { GatewayError } from '../queue/errors';
import type { ApiKey, KeyRing } from './keys';
import type { RateLimiter } from './rateLimits';
import { type Action, METRICS_SCOPE, type ResourceKind, grants, grantsEvery } from './scopes';
import type { SpecOperation } from './spec';
import { fillPath, STREAM_TOKEN_PARAM, type StreamTokens } from './streamTokens';

/**
 * What an operation needs, from its `x-mqgate-access` in openapi.yaml:
 * `public` (no key ever), `health` (a key only with `healthAuth: key`),
 * `metrics` (once the server has keys, a key with the `metrics` scope, or
 * `admin:*` / `*:*`: what counts every resource names them all), `signed`
 * (the operation authenticates its caller itself, from a signature over the
 * whole request: the SQS face's AWS SigV4), or
 * `<action|any> <kind>/<{param}|*>`, e.g. `produce queues/{queue}`, `any queues/*`.
 */
export type Access =
  | { kind: 'public' }
  | { kind: 'health' }
  | { kind: 'metrics' }
  | { kind: 'signed' }
  | { kind: 'scoped'; action: Action | null; resource: ResourceKind; param: string | null };

const SCOPED = /^(produce|consume|admin|any) (queues|topics|push-subscriptions)\/(?:\{(\w+)\}|\*)$/;

export function accessOf(op: SpecOperation): Access {
  const text = op.operation['x-mqgate-access'];
  if (text === 'public' || text === 'health' || text === 'metrics' || text === 'signed') return { kind: text };
  const match = SCOPED.exec(text ?? '');
  if (match === null) throw new Error(`openapi.yaml: ${op.operation.operationId}: x-mqgate-access '${text}' is not understood`);
  const [, action, resource, param] = match;
  if (param !== undefined && !op.parameters.some((p) => p.in === 'path' && p.name === param)) {
    throw new Error(`openapi.yaml: ${op.operation.operationId}: x-mqgate-access names no path parameter '${param}'`);
  }
  return {
    kind: 'scoped',
    action: action === 'any' ? null : (action as Action),
    resource: resource as ResourceKind,
    param: param ?? null,
  };
}

/** One access a request was let in for: `action` (null: any) on `kind/name` (name null: some resource of the kind). */
interface Grant {
  action: Action | null;
  kind: ResourceKind;
  name: string | null;
}

function forbidden({ action, kind, name }: Grant, how: string): GatewayError {
  const what = name === null ? kind : `${kind}/${name}`;
  return new GatewayError('forbidden', `This key ${how} ${action ?? 'scope'} access to ${what}.`);
}

/** Who is calling: a key, or everyone when the server has no keys (loopback only). */
export class Principal {
  /** What `require` let this request do, so a reload can tell whether the key still may (`reconsider`). */
  private readonly granted: Grant[] = [];
  /** Made when first asked for (`ended`) or needed: most requests never wait, and never need one. */
  private ending: AbortController | null = null;
  /** What a reload answered this request with, once it ended it. */
  private endedBy: GatewayError | null = null;

  constructor(readonly key: ApiKey | null) {}

  /** Aborts when a reload of the keys ends this request: a long-poll then stops waiting (api/requestSignal.ts). */
  get ended(): AbortSignal {
    if (this.ending === null) {
      this.ending = new AbortController();
      if (this.endedBy !== null) this.ending.abort();
    }
    return this.ending.signal;
  }

  /** `''` when the server has no keys: limits then apply to all callers together. */
  get id(): string {
    return this.key?.id ?? '';
  }

  /** Whether this caller may do `action` (null: anything) on `kind/name` (null: on some resource of the kind). */
  can(action: Action | null, kind: ResourceKind, name: string | null): boolean {
    return this.key === null || grants(this.key.scopes, action, kind, name);
  }

  /** Which names of `kind` a list shows this caller: null when every one. */
  visibility(action: Action | null, kind: ResourceKind): ((name: string) => boolean) | null {
    if (this.key === null || grantsEvery(this.key.scopes, action, kind)) return null;
    return (name) => this.can(action, kind, name);
  }

  /** Throws `forbidden`, the same answer whether or not the resource exists. */
  require(action: Action | null, kind: ResourceKind, name: string | null): void {
    if (!this.can(action, kind, name)) throw forbidden({ action, kind, name }, 'has no');
    if (this.key !== null) this.granted.push({ action, kind, name });
  }

  /**
   * A reload changed this caller's key (`now`; null: removed it) while the
   * request waits on a long-poll: the request ends at once, answered as a new
   * one would be, `unauthorized` once the key is gone or its credentials (hash,
   * SQS secret) changed, `forbidden` once its scopes no longer grant what the
   * request was let in for. A change that takes nothing away (a name, limits,
   * more scopes) lets it wait on.
   */
  reconsider(now: ApiKey | null): void {
    const { key } = this;
    if (key === null || this.endedBy !== null) return;
    if (now === null || now.hash !== key.hash || now.sqsSecret !== key.sqsSecret) {
      this.end(new GatewayError('unauthorized', 'The API key was revoked while this request waited.'));
      return;
    }
    const lost = this.granted.find(({ action, kind, name }) => !grants(now.scopes, action, kind, name));
    if (lost !== undefined) this.end(forbidden(lost, 'lost its'));
  }

  /** Throws what a reload answered this request with, if it ended it. */
  throwIfEnded(): void {
    if (this.endedBy !== null) throw this.endedBy;
  }

  private end(answer: GatewayError): void {
    this.endedBy = answer;
    this.ending?.abort();
  }
}

/** Throws `forbidden` unless the caller may read what counts every resource (`/metrics`, `/v1/activity`). */
function requireObserver(principal: Principal): void {
  if (principal.key !== null && !principal.key.scopes.some((scope) => scope.observes)) {
    throw new GatewayError('forbidden', `This key has no ${METRICS_SCOPE} scope (nor admin:*), which /metrics and /v1/activity need.`);
  }
}

/** The caller when the server has no keys, or the operation needs none. */
export const EVERYONE = new Principal(null);

export function principalOf(res: Response): Principal {
  return res.locals.principal as Principal;
}

export interface AuthOptions {
  keys: KeyRing;
  /** `open`: health answers anyone; `key`: any valid key. */
  healthAuth: 'open' | 'key';
  rates: RateLimiter;
  /** What opens a stream without an Authorization header: a token minted for it (api/streamTokens.ts). */
  streamTokens: StreamTokens;
}

const BEARER = /^Bearer[ ]+(\S+)[ ]*$/i;

function authenticate(req: Request, keys: KeyRing): ApiKey {
  const header = req.get('Authorization');
  if (header === undefined) throw new GatewayError('unauthorized', 'This server needs an API key: Authorization: Bearer <key>.');
  const presented = BEARER.exec(header)?.[1];
  const key = presented === undefined ? null : keys.authenticate(presented);
  if (key === null) throw new GatewayError('unauthorized', 'The API key is not valid.');
  return key;
}

/**
 * The caller's request rate (`rate_limited` when it is over), and its byte
 * rate: the body bytes read and the response bytes written are charged to the
 * key once the response is sent.
 */
export function admit(principal: Principal, rates: RateLimiter, res: Response): void {
  const charge = rates.admit(principal.id, principal.key?.limits ?? {});
  if (charge !== null) {
    res.once('finish', () => charge(((res.locals.bodyBytes as number | undefined) ?? 0) + Number(res.getHeader('Content-Length') ?? 0)));
  }
}

/**
 * Runs a read; one that may wait (`waitMs` > 0) holds one of the caller's
 * long-poll slots meanwhile (`too_many_long_polls`), and ends as soon as a
 * reload revokes its key or takes away the scope it needed (Principal.reconsider).
 */
export async function asLongPoll<T>(rates: RateLimiter, principal: Principal, waitMs: number, read: () => Promise<T>): Promise<T> {
  if (waitMs <= 0) return read();
  const release = holdLongPoll(rates, principal);
  let value: T;
  try {
    value = await read();
  } catch (error) {
    // A read cut short may fail for it (a request–reply caller's not_ready): the reload's answer is the one to give.
    principal.throwIfEnded();
    throw error;
  } finally {
    release();
  }
  // Cut short, the read returned early and gave back what it had taken (a fetch releases its leases).
  principal.throwIfEnded();
  return value;
}

/**
 * Holds one of the caller's long-poll slots (`too_many_long_polls` when it
 * has none left) until the returned release is called: a long-poll's, or an
 * open stream's for as long as it is open. A reload that changes or removes
 * its key ends the caller's requests (Principal.reconsider).
 */
export function holdLongPoll(rates: RateLimiter, principal: Principal): () => void {
  return rates.holdLongPoll(principal.id, principal.key?.limits ?? {}, (key) => principal.reconsider(key));
}

/**
 * Runs before the body is read: who the caller is (401), whether its scopes
 * allow this operation on this resource (403), and whether it is within its
 * request and byte rates (429). An operation that declares the
 * `streamToken` query parameter (the streams) takes, from a request without
 * an Authorization header, a token minted for the very path requested
 * instead of a key: the caller is then the token's key, scopes and limits
 * as if the key itself had been sent.
 */
export function authorize(op: SpecOperation, options: AuthOptions): RequestHandler {
  const access = accessOf(op);
  const takesToken = op.parameters.some((p) => p.in === 'query' && p.name === STREAM_TOKEN_PARAM);
  return (req: Request, res: Response, next: NextFunction) => {
    const open = options.keys.empty;
    if (access.kind === 'public' || (access.kind === 'health' && (open || options.healthAuth === 'open'))) {
      res.locals.principal = EVERYONE;
      next();
      return undefined;
    }
    // A signature covers the body: the operation checks it, and the scopes, once the body is read.
    if (access.kind === 'signed') {
      next();
      return undefined;
    }
    const letIn = (principal: Principal): void => {
      res.locals.principal = principal;
      if (access.kind === 'scoped') {
        principal.require(access.action, access.resource, access.param === null ? null : (req.params[access.param] as string));
      } else if (access.kind === 'metrics') {
        requireObserver(principal);
      }
      admit(principal, options.rates, res);
      next();
    };
    const token = takesToken && !open && req.get('Authorization') === undefined ? req.query[STREAM_TOKEN_PARAM] : undefined;
    if (token === undefined) {
      letIn(open ? EVERYONE : new Principal(authenticate(req, options.keys)));
      return undefined;
    }
    // Named twice (an array), it is no token. Express answers a rejection with the problem.
    const path = fillPath(op.path, req.params as Record<string, string>);
    return options.streamTokens.check(typeof token === 'string' ? token : '', path, options.keys).then((key) => letIn(new Principal(key)));
  };
}
