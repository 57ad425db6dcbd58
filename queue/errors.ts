/**
 * The one error type of the gateway. Every failure a client can see carries a
 * stable `code`; api/problem.ts maps each code to an HTTP status in one table.
 */
export type ErrorCode =
  | 'malformed_json'
  | 'bad_request'
  | 'validation_failed'
  | 'invalid_name'
  | 'unsupported_media_type'
  | 'payload_too_large'
  | 'message_too_large'
  | 'batch_too_large'
  | 'queue_not_found'
  | 'topic_not_found'
  | 'partition_not_found'
  | 'offset_out_of_range'
  | 'name_in_use'
  | 'partitions_cannot_shrink'
  | 'group_not_found'
  | 'subscription_not_found'
  | 'push_subscription_not_found'
  | 'source_cannot_change'
  | 'target_not_allowed'
  | 'unknown_member'
  | 'stale_generation'
  | 'group_has_members'
  | 'queue_in_use'
  | 'dead_letter_queue_not_found'
  | 'route_not_found'
  | 'asset_not_found'
  | 'method_not_allowed'
  | 'storage_full'
  | 'request_timeout'
  | 'expectation_failed'
  | 'headers_too_large'
  | 'quota_exceeded'
  | 'unauthorized'
  | 'forbidden'
  | 'host_not_allowed'
  | 'origin_not_allowed'
  | 'rate_limited'
  | 'too_many_long_polls'
  | 'storage_unavailable'
  | 'not_ready'
  | 'overloaded'
  | 'reply_timeout'
  | 'reply_not_found'
  | 'reply_already_given'
  | 'reply_expired'
  | 'schema_not_found'
  | 'schema_invalid'
  | 'schema_incompatible'
  | 'schema_validation_failed'
  | 'schema_version_unknown'
  | 'internal_error';

/** A field-level reason attached to `validation_failed`. */
export interface FieldError {
  /** JSON pointer into the request (`/body/messages/0/value`, `/path/queue`). */
  pointer: string;
  detail: string;
  /** `schema_validation_failed`: the failing message's index in the batch, and ajv's instance path in its value. */
  index?: number;
  instancePath?: string;
  /** `schema_incompatible`: the property (a JSON pointer into messages), the rule broken, its keyword and the version compared with. */
  property?: string;
  rule?: string;
  keyword?: string;
  version?: number;
}

export class GatewayError extends Error {
  readonly code: ErrorCode;
  readonly errors: FieldError[] | undefined;
  /** Seconds a client should wait before trying again (`Retry-After`); set on `rate_limited`. */
  readonly retryAfterSeconds: number | undefined;

  constructor(
    code: ErrorCode,
    detail: string,
    options: { cause?: unknown; errors?: FieldError[]; retryAfterSeconds?: number } = {},
  ) {
    super(detail, { cause: options.cause });
    this.name = 'GatewayError';
    this.code = code;
    this.errors = options.errors;
    this.retryAfterSeconds = options.retryAfterSeconds;
  }
}

/** `validation_failed` for one field, as the request validator would report it. */
export function invalidField(pointer: string, detail: string): GatewayError {
  return new GatewayError('validation_failed', detail, { errors: [{ pointer, detail }] });
}

/**
 * A configurable limit: `validation_failed` when `value` is above it. /v1
 * requests meet the same bound in validation (the served spec states it:
 * x-mqgate-limit); this is for the operations the SQS face shares.
 */
export function checkAtMost(pointer: string, value: number, limit: number): void {
  if (value > limit) throw invalidField(pointer, `${pointer.split('/').at(-1)} may be at most ${limit}.`);
}
