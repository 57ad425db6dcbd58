import type { ErrorRequestHandler, Response } from 'express';
import { type ErrorCode, GatewayError } from '../queue/errors';
import { sendFault, soapAnswerOf } from './soap';

/** The one table from error code to HTTP status and title. */
export const PROBLEMS: Record<ErrorCode, { status: number; title: string }> = {
  malformed_json: { status: 400, title: 'Malformed JSON' },
  bad_request: { status: 400, title: 'Bad request' },
  invalid_name: { status: 400, title: 'Invalid name' },
  validation_failed: { status: 422, title: 'Validation failed' },
  unsupported_media_type: { status: 415, title: 'Unsupported media type' },
  payload_too_large: { status: 413, title: 'Payload too large' },
  message_too_large: { status: 413, title: 'Message too large' },
  batch_too_large: { status: 413, title: 'Batch too large' },
  queue_not_found: { status: 404, title: 'Queue not found' },
  topic_not_found: { status: 404, title: 'Topic not found' },
  partition_not_found: { status: 404, title: 'Partition not found' },
  offset_out_of_range: { status: 416, title: 'Offset out of range' },
  name_in_use: { status: 409, title: 'Name in use' },
  partitions_cannot_shrink: { status: 409, title: 'Partitions cannot shrink' },
  group_not_found: { status: 404, title: 'Group not found' },
  subscription_not_found: { status: 404, title: 'Subscription not found' },
  push_subscription_not_found: { status: 404, title: 'Push subscription not found' },
  source_cannot_change: { status: 409, title: 'Source cannot change' },
  target_not_allowed: { status: 422, title: 'Target not allowed' },
  unknown_member: { status: 409, title: 'Unknown member' },
  stale_generation: { status: 409, title: 'Stale generation' },
  group_has_members: { status: 409, title: 'Group has members' },
  route_not_found: { status: 404, title: 'Route not found' },
  asset_not_found: { status: 404, title: 'Asset not found' },
  method_not_allowed: { status: 405, title: 'Method not allowed' },
  queue_in_use: { status: 409, title: 'Queue in use' },
  dead_letter_queue_not_found: { status: 422, title: 'Dead-letter queue not found' },
  storage_full: { status: 507, title: 'Storage full' },
  request_timeout: { status: 408, title: 'Request timeout' },
  expectation_failed: { status: 417, title: 'Expectation failed' },
  headers_too_large: { status: 431, title: 'Request headers too large' },
  quota_exceeded: { status: 429, title: 'Quota exceeded' },
  unauthorized: { status: 401, title: 'Unauthorized' },
  forbidden: { status: 403, title: 'Forbidden' },
  host_not_allowed: { status: 403, title: 'Host not allowed' },
  origin_not_allowed: { status: 403, title: 'Origin not allowed' },
  rate_limited: { status: 429, title: 'Rate limited' },
  too_many_long_polls: { status: 429, title: 'Too many long-polls' },
  storage_unavailable: { status: 503, title: 'Storage unavailable' },
  not_ready: { status: 503, title: 'Not ready' },
  overloaded: { status: 503, title: 'Overloaded' },
  reply_timeout: { status: 504, title: 'Reply timeout' },
  reply_not_found: { status: 404, title: 'Reply not found' },
  reply_already_given: { status: 409, title: 'Reply already given' },
  reply_expired: { status: 410, title: 'Reply expired' },
  schema_not_found: { status: 404, title: 'Schema not found' },
  schema_invalid: { status: 422, title: 'Schema invalid' },
  schema_incompatible: { status: 409, title: 'Schema incompatible' },
  schema_validation_failed: { status: 422, title: 'Schema validation failed' },
  schema_version_unknown: { status: 422, title: 'Schema version unknown' },
  internal_error: { status: 500, title: 'Internal error' },
};

/** 5xx answers that are outcomes the caller asked for, not failures of the gateway: not reported as internal errors. */
const OUTCOMES: ReadonlySet<ErrorCode> = new Set(['reply_timeout', 'not_ready']);

/** Seconds a client should wait before retrying a 503 or 429 that does not say otherwise. */
const RETRY_AFTER_SECONDS = 1;

/** A request body that does not parse as JSON. */
export function notJson(): GatewayError {
  return new GatewayError('malformed_json', 'The request body is not valid JSON.');
}

/**
 * Errors of express itself: its body parsers (which carry a `type`, and a 4xx
 * `status` for anything the client caused, such as a body that fails to
 * decompress) and its router (a URIError for a path that is not valid
 * percent-encoding).
 */
function fromExpress(error: unknown): GatewayError | null {
  if (error === null || typeof error !== 'object') return null;
  if ('name' in error && error.name === 'URIError') {
    return new GatewayError('invalid_name', 'The path is not valid percent-encoding.');
  }
  const type = 'type' in error ? error.type : undefined;
  switch (type) {
    case 'entity.parse.failed':
      return notJson();
    case 'entity.too.large':
      return new GatewayError('payload_too_large', 'The request body is larger than the server accepts.');
    case 'charset.unsupported':
    case 'encoding.unsupported':
      return new GatewayError('unsupported_media_type', 'The body must be UTF-8 JSON without content encoding.');
    case 'request.aborted':
    case 'request.size.invalid':
    case 'stream.encoding.set':
      return new GatewayError('bad_request', 'The request body could not be read.');
    default: {
      const status = 'status' in error ? error.status : undefined;
      return typeof status === 'number' && status >= 400 && status < 500
        ? new GatewayError('bad_request', 'The request body could not be read.')
        : null;
    }
  }
}

export function toGatewayError(error: unknown): GatewayError {
  if (error instanceof GatewayError) return error;
  return fromExpress(error) ?? new GatewayError('internal_error', 'An internal error occurred.', { cause: error });
}

/** The problem+json document of an error; `instance` is the request's path, when there is one. */
export function problemBody(error: GatewayError, instance: string | null): string {
  const { status, title } = PROBLEMS[error.code];
  return JSON.stringify({
    type: `urn:mqgate:problem:${error.code}`,
    title,
    status,
    detail: error.message,
    code: error.code,
    ...(instance === null ? {} : { instance }),
    ...(error.errors === undefined ? {} : { errors: error.errors }),
  });
}

/** A failure as problem+json, or to a SOAP caller as a fault (api/soap.ts); `Retry-After` and `WWW-Authenticate` either way. */
export function sendProblem(res: Response, error: GatewayError, instance: string): void {
  const problem = PROBLEMS[error.code];
  const { status } = problem;
  if (status === 503 || status === 429) res.set('Retry-After', String(error.retryAfterSeconds ?? RETRY_AFTER_SECONDS));
  if (status === 401) res.set('WWW-Authenticate', 'Bearer realm="mqgate"');
  const soap = soapAnswerOf(res.req);
  if (soap !== null) sendFault(res, soap, error, problem);
  else res.status(status).type('application/problem+json').send(problemBody(error, instance));
}

/**
 * The one error middleware: every failure leaves as problem+json. Internal
 * errors are reported to `onInternalError` (the log) and never described to
 * the client.
 */
export function problemMiddleware(onInternalError: (error: GatewayError) => void): ErrorRequestHandler {
  return (error: unknown, req, res, next) => {
    if (res.headersSent) {
      next(error);
      return;
    }
    const gatewayError = toGatewayError(error);
    if (PROBLEMS[gatewayError.code].status >= 500 && !OUTCOMES.has(gatewayError.code)) onInternalError(gatewayError);
    sendProblem(res, gatewayError, req.originalUrl);
  };
}
