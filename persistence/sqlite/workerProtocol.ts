import { GatewayError, type ErrorCode, type FieldError } from '../../queue/errors';
import type { Store } from '../store';

/** Store methods that are plain request/response calls across the thread boundary. */
export type StoreCall = Exclude<keyof Store, 'onAvailable'> | 'commitStats';

export interface CallMessage {
  id: number;
  method: StoreCall;
  args: unknown[];
}

export interface SerializedError {
  code: ErrorCode;
  message: string;
  errors: FieldError[] | undefined;
  /** The underlying failure as text, for the log; never shown to clients. */
  cause: string | undefined;
}

export type ReplyMessage =
  | { kind: 'result'; id: number; value: unknown }
  | { kind: 'error'; id: number; error: SerializedError }
  | { kind: 'available'; queue: string };

export function serializeError(error: GatewayError): SerializedError {
  return {
    code: error.code,
    message: error.message,
    errors: error.errors,
    cause: error.cause === undefined ? undefined : String(error.cause),
  };
}

export function deserializeError(error: SerializedError): GatewayError {
  return new GatewayError(error.code, error.message, { errors: error.errors, cause: error.cause });
}

/**
 * Buffers cross a worker boundary as plain Uint8Arrays; turn them back into
 * Buffers (without copying) so both sides see the types the Store promises.
 */
export function reviveBuffers(value: unknown): unknown {
  if (value instanceof Uint8Array) {
    return Buffer.isBuffer(value) ? value : Buffer.from(value.buffer, value.byteOffset, value.byteLength);
  }
  if (Array.isArray(value)) return value.map(reviveBuffers);
  if (value !== null && typeof value === 'object') {
    const out: Record<string, unknown> = {};
    for (const [key, inner] of Object.entries(value)) out[key] = reviveBuffers(inner);
    return out;
  }
  return value;
}
