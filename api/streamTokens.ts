import { createHmac, timingSafeEqual } from 'node:crypto';
import type { Clock } from '../queue/clock';
import { GatewayError } from '../queue/errors';
import type { ApiKey, KeyRing } from './keys';

/**
 * How long a stream token opens its stream after it was minted: the first
 * GET, and an EventSource's reconnects with the same URL, must come within
 * it. A stream already open is not cut when its token expires; it ends as
 * any stream does (the client leaves, the key is revoked or loses its scope,
 * the gateway shuts down). Then a client mints another token and opens again.
 */
export const STREAM_TOKEN_TTL_MS = 60_000;

/** The query parameter a stream GET takes its token in; an operation that declares it in openapi.yaml accepts one. */
export const STREAM_TOKEN_PARAM = 'streamToken';

/** The HMAC-SHA256 truncated to 128 bits, as a receipt's: beyond guessing, and the URL stays short. */
const TAG_BYTES = 16;

/** `mqs_<key id>_<expiry, ms since the epoch>_<tag>`; the key id is empty when minted on a gateway without keys. */
const TOKEN = /^mqs_([0-9a-f]{12})?_(\d{1,16})_([A-Za-z0-9_-]{22})$/;

/** What minting answers: the token, the stream's URL carrying it, and until when it opens that stream. */
export interface MintedToken {
  token: string;
  url: string;
  expiresAt: number;
}

/** The path of an operation of openapi.yaml with its parameters filled in: `/v1/queues/{queue}/stream` → `/v1/queues/orders/stream`. */
export function fillPath(template: string, params: Record<string, string>): string {
  return template.replace(/\{(\w+)\}/g, (_, name: string) => encodeURIComponent(params[name] ?? ''));
}

/**
 * Short-lived tokens that open one stream as one key, for clients that cannot
 * send an Authorization header (a browser's EventSource), so that no
 * long-lived key goes into a URL.
 *
 * Stateless: the tag is the HMAC of the key id, the key's hash, the expiry
 * and the stream's path, under a secret derived from the store's receipt
 * secret, so any gateway over the same store checks it, and nothing is
 * stored. The key's hash is signed but not carried: a token dies with its
 * key, and with a new key given the same id. The path is not carried either:
 * a token presented on any other path does not check.
 */
export class StreamTokens {
  /** `receiptSecret`: the store's, read once (queue/receipts.ts storedReceiptSecret). */
  constructor(
    private readonly receiptSecret: () => Promise<Buffer>,
    private readonly clock: Clock,
  ) {}

  /** A token that opens the stream at `path` as `key` (null: the gateway has no keys) for STREAM_TOKEN_TTL_MS. */
  async mint(key: ApiKey | null, path: string): Promise<MintedToken> {
    const expiresAt = this.clock.now() + STREAM_TOKEN_TTL_MS;
    const tag = await this.tagOf(key, expiresAt, path);
    const token = `mqs_${key?.id ?? ''}_${expiresAt}_${tag.toString('base64url')}`;
    return { token, url: `${path}?${STREAM_TOKEN_PARAM}=${token}`, expiresAt };
  }

  /** The key `token` opens the stream at `path` as; `unauthorized` when it is not such a token, expired, or its key is gone. */
  async check(token: string, path: string, keys: KeyRing): Promise<ApiKey> {
    const match = TOKEN.exec(token);
    const key = match === null ? null : keys.withId(match[1] ?? '');
    if (match === null || key === null) throw invalid();
    const expiresAt = Number(match[2]);
    const presented = Buffer.from(match[3], 'base64url');
    // Node decodes leniently (spare bits): only the one spelling minted is a token.
    if (presented.toString('base64url') !== match[3]) throw invalid();
    // Constant time: how far a guess matched must not show in how long the answer took.
    if (!timingSafeEqual(presented, await this.tagOf(key, expiresAt, path))) throw invalid();
    if (this.clock.now() > expiresAt) {
      throw new GatewayError('unauthorized', `The stream token expired ${new Date(expiresAt).toISOString()}: mint another (POST …/stream/tokens).`);
    }
    return key;
  }

  private async tagOf(key: ApiKey | null, expiresAt: number, path: string): Promise<Buffer> {
    const signed = [key?.id ?? '', key?.hash ?? '', String(expiresAt), path].join('\n');
    return createHmac('sha256', await this.tokenSecret()).update(signed).digest().subarray(0, TAG_BYTES);
  }

  /** A key of its own for tokens, derived from the receipt secret: no receipt's tag can ever pass as a token's. */
  private async tokenSecret(): Promise<Buffer> {
    return createHmac('sha256', await this.receiptSecret()).update('mqgate stream tokens').digest();
  }
}

function invalid(): GatewayError {
  return new GatewayError('unauthorized', 'The stream token is not valid for this stream: altered, minted for another stream, or its key is gone.');
}
