import type { ErrorCode, GatewayError } from '../../queue/errors';

/**
 * The errors the SQS face answers, by the name the AWS SDK raises. The SDK
 * picks the name from the `x-amzn-query-error` header's code (then from
 * `__type`): a modeled error is found by its query code, an unmodeled one is
 * raised under the code itself, so the header is what makes the names right.
 */
export type SqsErrorName =
  | 'QueueDoesNotExist'
  | 'QueueNameExists'
  | 'ReceiptHandleIsInvalid'
  | 'TooManyEntriesInBatchRequest'
  | 'EmptyBatchRequest'
  | 'BatchEntryIdsNotDistinct'
  | 'InvalidBatchEntryId'
  | 'BatchRequestTooLong'
  | 'UnsupportedOperation'
  | 'OverLimit'
  | 'PurgeQueueInProgress'
  | 'RequestThrottled'
  | 'ResourceNotFoundException'
  | 'InvalidAttributeName'
  | 'InvalidAttributeValue'
  | 'InvalidMessageContents'
  | 'InvalidParameterValue'
  | 'MissingParameter'
  | 'InvalidAction'
  | 'SerializationException'
  | 'AccessDenied'
  | 'SignatureDoesNotMatch'
  | 'InvalidClientTokenId'
  | 'MissingAuthenticationToken'
  | 'ServiceUnavailable'
  | 'InternalError';

interface SqsErrorShape {
  /** The body's `__type`. */
  type: string;
  /** The code of `x-amzn-query-error: <code>;Sender|Receiver`. */
  queryCode: string;
  status: number;
}

const modeled = (name: string, queryCode: string, status = 400): SqsErrorShape => ({ type: `com.amazonaws.sqs#${name}`, queryCode, status });
const coral = (type: string, queryCode: string, status = 400): SqsErrorShape => ({ type: `com.amazon.coral.service#${type}`, queryCode, status });

/** The one table: SQS error name → `__type`, query code and status, as SQS and its SDK's model say. */
export const SQS_ERRORS: Record<SqsErrorName, SqsErrorShape> = {
  QueueDoesNotExist: modeled('QueueDoesNotExist', 'AWS.SimpleQueueService.NonExistentQueue'),
  QueueNameExists: modeled('QueueNameExists', 'QueueAlreadyExists'),
  ReceiptHandleIsInvalid: modeled('ReceiptHandleIsInvalid', 'ReceiptHandleIsInvalid', 404),
  TooManyEntriesInBatchRequest: modeled('TooManyEntriesInBatchRequest', 'AWS.SimpleQueueService.TooManyEntriesInBatchRequest'),
  EmptyBatchRequest: modeled('EmptyBatchRequest', 'AWS.SimpleQueueService.EmptyBatchRequest'),
  BatchEntryIdsNotDistinct: modeled('BatchEntryIdsNotDistinct', 'AWS.SimpleQueueService.BatchEntryIdsNotDistinct'),
  InvalidBatchEntryId: modeled('InvalidBatchEntryId', 'AWS.SimpleQueueService.InvalidBatchEntryId'),
  BatchRequestTooLong: modeled('BatchRequestTooLong', 'AWS.SimpleQueueService.BatchRequestTooLong'),
  UnsupportedOperation: modeled('UnsupportedOperation', 'AWS.SimpleQueueService.UnsupportedOperation'),
  OverLimit: modeled('OverLimit', 'OverLimit', 403),
  PurgeQueueInProgress: modeled('PurgeQueueInProgress', 'AWS.SimpleQueueService.PurgeQueueInProgress', 403),
  // 403 as SQS answers it; the SDK retries it as throttling.
  RequestThrottled: modeled('RequestThrottled', 'RequestThrottled', 403),
  ResourceNotFoundException: modeled('ResourceNotFoundException', 'ResourceNotFoundException', 404),
  InvalidAttributeName: modeled('InvalidAttributeName', 'InvalidAttributeName'),
  InvalidAttributeValue: modeled('InvalidAttributeValue', 'InvalidAttributeValue'),
  InvalidMessageContents: modeled('InvalidMessageContents', 'InvalidMessageContents'),
  InvalidParameterValue: coral('InvalidParameterValueException', 'InvalidParameterValue'),
  MissingParameter: coral('MissingRequiredParameterException', 'MissingParameter'),
  InvalidAction: coral('UnknownOperationException', 'InvalidAction'),
  SerializationException: coral('SerializationException', 'SerializationException'),
  AccessDenied: coral('AccessDeniedException', 'AccessDenied', 403),
  SignatureDoesNotMatch: coral('InvalidSignatureException', 'SignatureDoesNotMatch', 403),
  InvalidClientTokenId: coral('UnrecognizedClientException', 'InvalidClientTokenId', 403),
  MissingAuthenticationToken: coral('MissingAuthenticationTokenException', 'MissingAuthenticationToken', 403),
  ServiceUnavailable: coral('ServiceUnavailableException', 'ServiceUnavailable', 503),
  InternalError: modeled('InternalError', 'InternalError', 500),
};

export class SqsError extends Error {
  constructor(
    readonly sqsName: SqsErrorName,
    message: string,
  ) {
    super(message);
    this.name = 'SqsError';
  }
}

/** `MissingParameter` as SQS words it. */
export function missingParameter(parameter: string): SqsError {
  return new SqsError('MissingParameter', `The request must contain the parameter ${parameter}.`);
}

/** `InvalidParameterValue` as SQS words it: `Value <v> for parameter <p> is invalid. Reason: <why>` */
export function invalidParameter(parameter: string, value: unknown, reason: string): SqsError {
  const shown = typeof value === 'string' ? value : JSON.stringify(value);
  return new SqsError('InvalidParameterValue', `Value ${shown} for parameter ${parameter} is invalid. Reason: ${reason}`);
}

/**
 * What a failure of the queue semantics is called in SQS. Every gateway code
 * has an entry, so a new code cannot reach an SQS client unnamed; the
 * semantics' own message is kept (it never holds internals).
 */
const FROM_GATEWAY: Record<ErrorCode, SqsErrorName> = {
  malformed_json: 'SerializationException',
  bad_request: 'InvalidParameterValue',
  validation_failed: 'InvalidParameterValue',
  invalid_name: 'InvalidParameterValue',
  unsupported_media_type: 'SerializationException',
  payload_too_large: 'BatchRequestTooLong',
  message_too_large: 'InvalidParameterValue',
  batch_too_large: 'TooManyEntriesInBatchRequest',
  queue_not_found: 'QueueDoesNotExist',
  topic_not_found: 'QueueDoesNotExist',
  partition_not_found: 'QueueDoesNotExist',
  offset_out_of_range: 'InvalidParameterValue',
  // A topic of that name: the name is taken.
  name_in_use: 'QueueNameExists',
  partitions_cannot_shrink: 'InvalidParameterValue',
  group_not_found: 'QueueDoesNotExist',
  subscription_not_found: 'QueueDoesNotExist',
  push_subscription_not_found: 'QueueDoesNotExist',
  source_cannot_change: 'InvalidParameterValue',
  target_not_allowed: 'InvalidParameterValue',
  unknown_member: 'InvalidParameterValue',
  stale_generation: 'InvalidParameterValue',
  group_has_members: 'InvalidParameterValue',
  queue_in_use: 'InvalidParameterValue',
  dead_letter_queue_not_found: 'InvalidParameterValue',
  route_not_found: 'InvalidAction',
  asset_not_found: 'InvalidAction',
  method_not_allowed: 'InvalidAction',
  storage_full: 'ServiceUnavailable',
  request_timeout: 'ServiceUnavailable',
  expectation_failed: 'InvalidParameterValue',
  headers_too_large: 'InvalidParameterValue',
  quota_exceeded: 'OverLimit',
  unauthorized: 'MissingAuthenticationToken',
  forbidden: 'AccessDenied',
  host_not_allowed: 'AccessDenied',
  origin_not_allowed: 'AccessDenied',
  rate_limited: 'RequestThrottled',
  too_many_long_polls: 'RequestThrottled',
  storage_unavailable: 'ServiceUnavailable',
  not_ready: 'ServiceUnavailable',
  overloaded: 'ServiceUnavailable',
  // Request–reply is not an SQS action: these never arise there.
  reply_timeout: 'ServiceUnavailable',
  reply_not_found: 'InvalidParameterValue',
  reply_already_given: 'InvalidParameterValue',
  reply_expired: 'InvalidParameterValue',
  schema_not_found: 'InvalidParameterValue',
  schema_invalid: 'InvalidParameterValue',
  schema_incompatible: 'InvalidParameterValue',
  // A body that breaks its queue's JSON Schema: the contents are what is wrong.
  schema_validation_failed: 'InvalidMessageContents',
  schema_version_unknown: 'InvalidParameterValue',
  internal_error: 'InternalError',
};

const NO_SUCH_QUEUE = 'The specified queue does not exist.';

/** QueueDoesNotExist, in SQS's words. */
export function queueDoesNotExist(): SqsError {
  return new SqsError('QueueDoesNotExist', NO_SUCH_QUEUE);
}

/** SQS's own words where it always says the same thing; an internal error is described to nobody. */
const FIXED_MESSAGES: Partial<Record<SqsErrorName, string>> = {
  QueueDoesNotExist: NO_SUCH_QUEUE,
  InternalError: 'We encountered an internal error. Please try again.',
};

export function fromGatewayError(error: GatewayError): SqsError {
  const name = FROM_GATEWAY[error.code];
  return new SqsError(name, FIXED_MESSAGES[name] ?? error.message);
}
