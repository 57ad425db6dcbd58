import crypto from 'node:crypto';
import type { Scope } from './scopes';

/** Per-key limits; null: no limit. A key's own values win over the server's defaults. */
export interface KeyLimits {
  /** Requests per second, with a burst of one second's worth. */
  requestsPerSecond: number | null;
  /** Request plus response body bytes per second. */
  bytesPerSecond: number | null;
  /** Fetches waiting at once (waitMs > 0). */
  longPolls: number | null;
}

/** A key as the server keeps it: never the key itself, only its hash. */
export interface ApiKey {
  id: string;
  name: string;
  /** `sha256:<hex>` of the whole key. */
  hash: string;
  scopes: Scope[];
  limits: Partial<KeyLimits>;
  /**
   * The secret access key the SQS face checks AWS SigV4 signatures with (the
   * key id is the access key id). Kept as it is, not hashed: a signature can
   * only be checked with the secret itself. Absent: the key cannot sign.
   */
  sqsSecret?: string;
}

const PREFIX = 'mqg_';
const ID_BYTES = 6;
const SECRET_BYTES = 32;
const TOKEN = /^mqg_([0-9a-f]{12})_[A-Za-z0-9_-]{43}$/;

/**
 * A key's hash. SHA-256 is enough: a key is 32 random bytes, so there is
 * nothing to guess a slow hash would protect.
 */
export function hashKey(key: string): string {
  return `sha256:${crypto.createHash('sha256').update(key).digest('hex')}`;
}

/** A new key: `mqg_<id>_<secret>`; the id names it in config and logs, the whole key is shown once. */
export function generateKey(): { key: string; id: string; hash: string } {
  const id = crypto.randomBytes(ID_BYTES).toString('hex');
  const key = `${PREFIX}${id}_${crypto.randomBytes(SECRET_BYTES).toString('base64url')}`;
  return { key, id, hash: hashKey(key) };
}

/** A new SQS secret access key: 40 characters, as AWS's are. */
export function generateSqsSecret(): string {
  return crypto.randomBytes(30).toString('base64url');
}

/** What a reload of the keys changed: keys new to the gateway, keys gone, and keys whose entry differs (the new entries). */
export interface KeyChanges {
  added: ApiKey[];
  removed: ApiKey[];
  changed: ApiKey[];
}

/** Whether two entries of one key id say the same: name, credentials, scopes and limits. */
function sameKey(a: ApiKey, b: ApiKey): boolean {
  const scopes = (key: ApiKey): string => key.scopes.map((scope) => scope.text).join(' ');
  const limits = ({ limits: l }: ApiKey): string => JSON.stringify([l.requestsPerSecond, l.bytesPerSecond, l.longPolls]);
  return a.name === b.name && a.hash === b.hash && a.sqsSecret === b.sqsSecret && scopes(a) === scopes(b) && limits(a) === limits(b);
}

/** The keys in force, found by the id inside a presented key and checked by hash in constant time; replaced whole by a reload. */
export class KeyRing {
  private byId: Map<string, ApiKey>;
  /** Whether a key was ever in force: from then on every request needs one, even once none is left. */
  private keyed: boolean;
  /**
   * The token each key was last presented as, once its hash matched: the
   * next request with it is compared to it, without hashing again. A key
   * replaced or removed by a reload is a new object or none, so its entry is
   * never consulted again.
   */
  private readonly verified = new WeakMap<ApiKey, Buffer>();

  /** `required`: every request needs a key even while there is none (keys kept in the store, none stored yet). */
  constructor(keys: ApiKey[], required = keys.length > 0) {
    this.byId = new Map(keys.map((key) => [key.id, key]));
    this.keyed = required || keys.length > 0;
  }

  /**
   * No key, and never one, nor required: the gateway runs open, on loopback
   * only. A reload that removes every key does not open it: it then refuses
   * every request.
   */
  get empty(): boolean {
    return !this.keyed;
  }

  /** How many keys are in force. */
  get size(): number {
    return this.byId.size;
  }

  /** Puts `keys` (ids already checked unique) in force from the next request on, and says what changed. */
  replace(keys: ApiKey[]): KeyChanges {
    const before = this.byId;
    this.byId = new Map(keys.map((key) => [key.id, key]));
    this.keyed ||= keys.length > 0;
    return {
      added: keys.filter((key) => !before.has(key.id)),
      removed: [...before.values()].filter((key) => !this.byId.has(key.id)),
      changed: keys.filter((key) => {
        const old = before.get(key.id);
        return old !== undefined && !sameKey(old, key);
      }),
    };
  }

  authenticate(presented: string): ApiKey | null {
    const id = TOKEN.exec(presented)?.[1];
    const key = id === undefined ? undefined : this.byId.get(id);
    if (key === undefined) return null;
    // Every token of one id has the same length (TOKEN), so each comparison below is of equal lengths, in constant time.
    const given = Buffer.from(presented);
    const known = this.verified.get(key);
    if (known !== undefined) return crypto.timingSafeEqual(known, given) ? key : null;
    const expected = Buffer.from(key.hash);
    const actual = Buffer.from(hashKey(presented));
    if (expected.length !== actual.length || !crypto.timingSafeEqual(expected, actual)) return null;
    this.verified.set(key, given);
    return key;
  }

  /** The key in force with this id, if any: what a stream token names (api/streamTokens.ts), which checks it by its own signature. */
  withId(id: string): ApiKey | null {
    return this.byId.get(id) ?? null;
  }

  /** The key an SQS access key id names, if it has an SQS secret to check signatures with. */
  signingKey(accessKeyId: string): { owner: ApiKey; secret: string } | null {
    const key = this.byId.get(accessKeyId);
    return key?.sqsSecret === undefined ? null : { owner: key, secret: key.sqsSecret };
  }
}
