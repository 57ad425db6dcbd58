import { queueDoesNotExist, SqsError } from './errors';

/**
 * How SQS names a queue: a URL for most actions, an ARN for redrive policies
 * and move tasks. mqgate has one account and one region, so both are fixed,
 * and a queue is found by the name at the end of either.
 */
export const ACCOUNT_ID = '000000000000';
export const REGION = 'us-east-1';

/** `http://<host the client called>/<account>/<name>`: the SDK only reads QueueUrl back as a body field. */
export function queueUrl(origin: string, name: string): string {
  return `${origin}/${ACCOUNT_ID}/${name}`;
}

export function queueArn(name: string): string {
  return `arn:aws:sqs:${REGION}:${ACCOUNT_ID}:${name}`;
}

/** The queue a QueueUrl names: its last path segment (any host, as SQS clients build URLs their own way). */
export function nameFromUrl(url: string): string {
  let path: string;
  try {
    path = new URL(url).pathname;
  } catch {
    // Some clients pass a bare path (`/000000000000/orders`).
    path = url;
  }
  const name = decodeSegment(path.replace(/\/+$/, '').split('/').pop() ?? '');
  if (name === null || name === '') throw queueDoesNotExist();
  return name;
}

function decodeSegment(segment: string): string | null {
  try {
    return decodeURIComponent(segment);
  } catch {
    return null;
  }
}

/** The queue an ARN names, or null when it is not an SQS ARN. */
export function nameFromArn(arn: string): string | null {
  return /^arn:aws:sqs:[^:]*:[^:]*:([^:/]+)$/.exec(arn)?.[1] ?? null;
}

export const FIFO_SUFFIX = '.fifo';

/**
 * Names CreateQueue accepts: SQS's rule (1–80 characters of letters, digits,
 * `-` and `_`, the suffix `.fifo` for a FIFO queue and only then). Queues
 * made through /v1 with other names are still reachable by URL.
 */
export function checkNewQueueName(name: string, fifo: boolean): void {
  const suffixed = name.endsWith(FIFO_SUFFIX);
  const base = suffixed ? name.slice(0, -FIFO_SUFFIX.length) : name;
  if (name.length <= 80 && /^[A-Za-z0-9_-]+$/.test(base) && suffixed === fifo) return;
  throw new SqsError(
    'InvalidParameterValue',
    fifo
      ? 'The name of a FIFO queue can only include alphanumeric characters, hyphens, or underscores, must end with .fifo suffix and be 1 to 80 in length.'
      : 'Can only include alphanumeric characters, hyphens, or underscores. 1 to 80 in length',
  );
}
