import { execFile, spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import readline from 'node:readline';
import {
  ChangeMessageVisibilityCommand,
  type ChangeMessageVisibilityCommandInput,
  type ChangeMessageVisibilityCommandOutput,
  CreateQueueCommand,
  type CreateQueueCommandInput,
  type CreateQueueCommandOutput,
  DeleteMessageBatchCommand,
  type DeleteMessageBatchCommandInput,
  type DeleteMessageBatchCommandOutput,
  DeleteMessageCommand,
  type DeleteMessageCommandInput,
  type DeleteMessageCommandOutput,
  DeleteQueueCommand,
  type DeleteQueueCommandInput,
  type DeleteQueueCommandOutput,
  GetQueueAttributesCommand,
  type GetQueueAttributesCommandInput,
  type GetQueueAttributesCommandOutput,
  GetQueueUrlCommand,
  type GetQueueUrlCommandInput,
  type GetQueueUrlCommandOutput,
  ListQueuesCommand,
  type ListQueuesCommandInput,
  type ListQueuesCommandOutput,
  ListQueueTagsCommand,
  type ListQueueTagsCommandInput,
  type ListQueueTagsCommandOutput,
  PurgeQueueCommand,
  type PurgeQueueCommandInput,
  type PurgeQueueCommandOutput,
  ReceiveMessageCommand,
  type ReceiveMessageCommandInput,
  type ReceiveMessageCommandOutput,
  SendMessageBatchCommand,
  type SendMessageBatchCommandInput,
  type SendMessageBatchCommandOutput,
  SendMessageCommand,
  type SendMessageCommandInput,
  type SendMessageCommandOutput,
  SetQueueAttributesCommand,
  type SetQueueAttributesCommandInput,
  type SetQueueAttributesCommandOutput,
  SQSClient,
  SQSServiceException,
  TagQueueCommand,
  type TagQueueCommandInput,
  type TagQueueCommandOutput,
  UntagQueueCommand,
  type UntagQueueCommandInput,
  type UntagQueueCommandOutput,
} from '@aws-sdk/client-sqs';
import SQSv2 from 'aws-sdk/clients/sqs';
import { tempDir } from './testGateway';

// aws-sdk v2 announces its maintenance mode on a timer once loaded; the tests use it on purpose.
process.env.AWS_SDK_JS_SUPPRESS_MAINTENANCE_MODE_MESSAGE = '1';

/**
 * Four SQS clients behind one interface, for test/sqs-legacy-clients.test.ts:
 * the three that speak SQS's query protocol (Debian's AWS CLI 2.9 and boto3
 * 1.26, aws-sdk for JavaScript v2) and the current SDK (v3, AWS JSON 1.0).
 * A call names the operation and gives its members as SQS's model names them
 * (v3's input types); each client makes it its own way (a CLI command with
 * its options, a boto3 method, a v2 method, a v3 command) and its result or
 * error comes back in one shape, so one test can run for all four.
 */

/** Debian's interpreter and CLI (test/system-packages.sh): `python3` and `aws` on PATH may be others, speaking JSON 1.0. */
const DEBIAN_PYTHON = '/usr/bin/python3';
const DEBIAN_AWS_CLI = '/usr/bin/aws';
const BOTO3_SCRIPT = path.join(__dirname, 'legacy_sqs_boto3.py');
const REGION = 'us-east-1';

export interface Credentials {
  accessKeyId: string;
  secretAccessKey: string;
}

/** The operations the clients make: each one's input and output, as v3 types them. */
interface Operations {
  CreateQueue: [CreateQueueCommandInput, CreateQueueCommandOutput];
  ListQueues: [ListQueuesCommandInput, ListQueuesCommandOutput];
  GetQueueUrl: [GetQueueUrlCommandInput, GetQueueUrlCommandOutput];
  GetQueueAttributes: [GetQueueAttributesCommandInput, GetQueueAttributesCommandOutput];
  SetQueueAttributes: [SetQueueAttributesCommandInput, SetQueueAttributesCommandOutput];
  TagQueue: [TagQueueCommandInput, TagQueueCommandOutput];
  UntagQueue: [UntagQueueCommandInput, UntagQueueCommandOutput];
  ListQueueTags: [ListQueueTagsCommandInput, ListQueueTagsCommandOutput];
  SendMessage: [SendMessageCommandInput, SendMessageCommandOutput];
  SendMessageBatch: [SendMessageBatchCommandInput, SendMessageBatchCommandOutput];
  ReceiveMessage: [ReceiveMessageCommandInput, ReceiveMessageCommandOutput];
  ChangeMessageVisibility: [ChangeMessageVisibilityCommandInput, ChangeMessageVisibilityCommandOutput];
  DeleteMessage: [DeleteMessageCommandInput, DeleteMessageCommandOutput];
  DeleteMessageBatch: [DeleteMessageBatchCommandInput, DeleteMessageBatchCommandOutput];
  PurgeQueue: [PurgeQueueCommandInput, PurgeQueueCommandOutput];
  DeleteQueue: [DeleteQueueCommandInput, DeleteQueueCommandOutput];
}

export type Operation = keyof Operations;
export type InputOf<O extends Operation> = Operations[O][0];
/** A result: v3's output without its $metadata; blobs (BinaryValue) as Buffers whichever client got them. */
export type OutputOf<O extends Operation> = Omit<Operations[O][1], '$metadata'>;

/** An error the gateway answered, as the client reported it. */
export interface Refusal {
  /**
   * The error as the client's users meet it: v3 the name of its exception, v2
   * the error's `code`, boto3 the class botocore raised (ClientError unless one
   * of client.exceptions), the CLI the code its message names.
   */
  raised: string;
  /** Its code on the wire: ErrorResponse/Error/Code (query), or x-amzn-query-error's code (JSON 1.0). */
  code: string;
  /** An SDK reports the HTTP status; the CLI its exit status. */
  status: { http: number } | { exit: number };
  message: string;
}

export type Outcome<O extends Operation> = { ok: true; output: OutputOf<O> } | { ok: false; refusal: Refusal };

export type ClientName = 'aws-cli' | 'boto3' | 'aws-sdk-v2' | 'aws-sdk-v3';

export interface SqsClient {
  name: ClientName;
  /** Makes one call; `credentials` stand in for the client's own for this call only. */
  call<O extends Operation>(operation: O, input: InputOf<O>, credentials?: Credentials): Promise<Outcome<O>>;
  close(): Promise<void>;
}

/** Every Uint8Array (v3's blobs, v2's Buffers) as a Buffer, without v3's $metadata: the shape every client's output takes here. */
function normalized(value: unknown): unknown {
  if (value instanceof Uint8Array) return Buffer.from(value);
  if (Array.isArray(value)) return value.map(normalized);
  if (typeof value !== 'object' || value === null) return value;
  return Object.fromEntries(Object.entries(value).filter(([key]) => key !== '$metadata').map(([key, item]) => [key, normalized(item)]));
}

/** Buffers in an input as the JSON the CLI and the boto3 script read: `blob(buffer)` makes each one's form. */
function withBlobs(value: unknown, blob: (bytes: Buffer) => unknown): unknown {
  if (value instanceof Uint8Array) return blob(Buffer.from(value));
  if (Array.isArray(value)) return value.map((item) => withBlobs(item, blob));
  if (typeof value !== 'object' || value === null) return value;
  return Object.fromEntries(Object.entries(value).map(([key, item]) => [key, withBlobs(item, blob)]));
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

// --- aws-sdk v3: JSON 1.0 ---

type V3Calls = { [O in Operation]: (input: InputOf<O>) => Promise<Operations[O][1]> };

function v3Calls(sqs: SQSClient): V3Calls {
  return {
    CreateQueue: (input) => sqs.send(new CreateQueueCommand(input)),
    ListQueues: (input) => sqs.send(new ListQueuesCommand(input)),
    GetQueueUrl: (input) => sqs.send(new GetQueueUrlCommand(input)),
    GetQueueAttributes: (input) => sqs.send(new GetQueueAttributesCommand(input)),
    SetQueueAttributes: (input) => sqs.send(new SetQueueAttributesCommand(input)),
    TagQueue: (input) => sqs.send(new TagQueueCommand(input)),
    UntagQueue: (input) => sqs.send(new UntagQueueCommand(input)),
    ListQueueTags: (input) => sqs.send(new ListQueueTagsCommand(input)),
    SendMessage: (input) => sqs.send(new SendMessageCommand(input)),
    SendMessageBatch: (input) => sqs.send(new SendMessageBatchCommand(input)),
    ReceiveMessage: (input) => sqs.send(new ReceiveMessageCommand(input)),
    ChangeMessageVisibility: (input) => sqs.send(new ChangeMessageVisibilityCommand(input)),
    DeleteMessage: (input) => sqs.send(new DeleteMessageCommand(input)),
    DeleteMessageBatch: (input) => sqs.send(new DeleteMessageBatchCommand(input)),
    PurgeQueue: (input) => sqs.send(new PurgeQueueCommand(input)),
    DeleteQueue: (input) => sqs.send(new DeleteQueueCommand(input)),
  };
}

/** One client per set of credentials, made when first used. */
function perCredentials<T>(make: (credentials: Credentials) => T): (credentials: Credentials) => T {
  const made = new Map<string, T>();
  return (credentials) => {
    const key = `${credentials.accessKeyId}\n${credentials.secretAccessKey}`;
    const existing = made.get(key);
    if (existing !== undefined) return existing;
    const client = make(credentials);
    made.set(key, client);
    return client;
  };
}

/** The current SDK, as the README configures it; no retries, so that a test sees the first answer. */
export function sdkV3(endpoint: string, own: Credentials): SqsClient {
  const clients: SQSClient[] = [];
  const callsFor = perCredentials((credentials) => {
    const sqs = new SQSClient({ endpoint, region: REGION, credentials, maxAttempts: 1 });
    clients.push(sqs);
    return v3Calls(sqs);
  });
  return {
    name: 'aws-sdk-v3',
    async call(operation, input, credentials = own) {
      const calls = callsFor(credentials);
      try {
        const output = await calls[operation](input);
        return { ok: true, output: normalized(output) as OutputOf<typeof operation> };
      } catch (error) {
        // Only an error the gateway answered; anything else (a refused connection) fails the test as it is.
        const status = error instanceof SQSServiceException ? error.$metadata.httpStatusCode : undefined;
        if (!(error instanceof SQSServiceException) || status === undefined) throw error;
        // The query code the SDK read from x-amzn-query-error (query-compatible services keep it as `Code`).
        const code = 'Code' in error && typeof error.Code === 'string' ? error.Code : '(no query code)';
        return { ok: false, refusal: { raised: error.name, code, status: { http: status }, message: error.message } };
      }
    },
    async close() {
      for (const sqs of clients) sqs.destroy();
    },
  };
}

// --- aws-sdk v2: query ---

/**
 * v2's output as the others give it: without its ResponseMetadata, and
 * without the empty lists its parser makes of every list member the XML does
 * not have (a flattened list with no items is no element at all: on the wire,
 * "empty" and "absent" are one).
 */
function withoutEmptyLists(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(withoutEmptyLists);
  if (!isRecord(value) || Buffer.isBuffer(value)) return value;
  return Object.fromEntries(
    Object.entries(value)
      .filter(([key, item]) => key !== 'ResponseMetadata' && !(Array.isArray(item) && item.length === 0))
      .map(([key, item]) => [key, withoutEmptyLists(item)]),
  );
}

/** aws-sdk for JavaScript v2 (2.1450.0), whose SQS client speaks the query protocol and checks the MD5s of bodies itself. */
export function sdkV2(endpoint: string, own: Credentials): SqsClient {
  const clientFor = perCredentials((credentials) => new SQSv2({ endpoint, region: REGION, credentials, maxRetries: 0 }));
  // The model the client was built from (`api`, untyped in v2's declarations) names its protocol.
  const sqs: object = clientFor(own);
  const protocol = 'api' in sqs && isRecord(sqs.api) ? sqs.api.protocol : undefined;
  if (protocol !== 'query') throw new Error(`aws-sdk v2's SQS client speaks ${String(protocol)}, not the query protocol`);
  return {
    name: 'aws-sdk-v2',
    async call(operation, input, credentials = own) {
      // makeRequest is v2's one entry to every operation, by the name its methods have (createQueue).
      const method = operation[0].toLowerCase() + operation.slice(1);
      try {
        const output: unknown = await clientFor(credentials).makeRequest(method, input).promise();
        return { ok: true, output: withoutEmptyLists(normalized(output)) as OutputOf<typeof operation> };
      } catch (error) {
        const status = isRecord(error) && typeof error.statusCode === 'number' ? error.statusCode : undefined;
        if (!(error instanceof Error) || !isRecord(error) || typeof error.code !== 'string' || status === undefined) throw error;
        return { ok: false, refusal: { raised: error.code, code: error.code, status: { http: status }, message: error.message } };
      }
    },
    async close() {},
  };
}

// --- the processes: the AWS CLI and boto3 ---

/**
 * The environment of a CLI or boto3 process: nothing of the machine's AWS
 * configuration (a fresh HOME, config and credentials files that do not
 * exist, no instance metadata), one attempt per call, and `credentials` as
 * the environment's.
 */
function awsEnvironment(home: string, credentials: Credentials): NodeJS.ProcessEnv {
  return {
    PATH: '/usr/bin:/bin',
    LANG: 'C.UTF-8',
    HOME: home,
    AWS_CONFIG_FILE: path.join(home, 'no-config'),
    AWS_SHARED_CREDENTIALS_FILE: path.join(home, 'no-credentials'),
    AWS_EC2_METADATA_DISABLED: 'true',
    AWS_MAX_ATTEMPTS: '1',
    AWS_DEFAULT_REGION: REGION,
    AWS_PAGER: '',
    AWS_ACCESS_KEY_ID: credentials.accessKeyId,
    AWS_SECRET_ACCESS_KEY: credentials.secretAccessKey,
  };
}

/** An operation's name as the CLI's command (send-message-batch) or a member's as its option (--queue-url). */
const kebab = (name: string): string => name.replace(/([a-z0-9])([A-Z])/g, '$1-$2').toLowerCase();

/**
 * The CLI's options for an input: a scalar as its text, a list, map or
 * structure as JSON (which the CLI takes for them), blobs in base64. Each as
 * `--name=value`: a value that starts with `-` (a receipt handle may) would
 * otherwise be read as an option of its own.
 */
function cliOptions(input: object): string[] {
  return Object.entries(withBlobs(input, (bytes) => bytes.toString('base64')) as Record<string, unknown>).map(
    ([member, value]) => `--${kebab(member)}=${typeof value === 'object' ? JSON.stringify(value) : String(value)}`,
  );
}

/** The CLI prints blobs in base64: as Buffers, like the SDKs' (text that is not base64 stays text, and fails the comparison). */
function cliBlobs(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(cliBlobs);
  if (!isRecord(value)) return value;
  return Object.fromEntries(
    Object.entries(value).map(([key, item]) => {
      const bytes = key === 'BinaryValue' && typeof item === 'string' ? Buffer.from(item, 'base64') : null;
      return [key, bytes !== null && bytes.toString('base64') === item ? bytes : cliBlobs(item)];
    }),
  );
}

/** How the CLI reports an error the service answered, on stderr (with its attempts when it could have retried). */
const CLI_ERROR = /An error occurred \(([^)]+)\) when calling the (\w+) operation(?: \(reached max retries: \d+\))?: (.*)/s;

interface Finished {
  exitCode: number;
  stdout: string;
  stderr: string;
}

/** Runs a process to its end without blocking the event loop (the gateway answers it from this process). */
function run(file: string, args: string[], env: NodeJS.ProcessEnv): Promise<Finished> {
  return new Promise((resolve, reject) => {
    execFile(file, args, { env, timeout: 60_000, maxBuffer: 16 * 1024 * 1024 }, (error, stdout, stderr) => {
      // An exit status is an answer; a file that cannot be run (ENOENT), or a timeout, is not.
      if (error !== null && (typeof error.code !== 'number' || error.killed)) reject(new Error(`${file} ${args.join(' ')}: ${error.message}\n${stderr}`));
      else resolve({ exitCode: error === null ? 0 : Number(error.code), stdout, stderr });
    });
  });
}

/** Debian's AWS CLI 2.9.19: a process for each call, `aws sqs <operation> <options> --endpoint-url … --output json`. */
export function awsCli(endpoint: string, own: Credentials): SqsClient {
  const home = tempDir('mqgate-aws-cli-');
  return {
    name: 'aws-cli',
    async call(operation, input, credentials = own) {
      const args = ['sqs', kebab(operation), ...cliOptions(input), '--endpoint-url', endpoint, '--output', 'json'];
      const { exitCode, stdout, stderr } = await run(DEBIAN_AWS_CLI, args, awsEnvironment(home, credentials));
      if (exitCode === 0) {
        // An operation without a result prints nothing.
        const output: unknown = stdout.trim() === '' ? {} : JSON.parse(stdout);
        return { ok: true, output: cliBlobs(output) as OutputOf<typeof operation> };
      }
      const reported = CLI_ERROR.exec(stderr);
      if (reported === null || reported[2] !== operation) throw new Error(`aws ${args.join(' ')} exited ${exitCode}:\n${stderr}`);
      return { ok: false, refusal: { raised: reported[1], code: reported[1], status: { exit: exitCode }, message: reported[3].trim() } };
    },
    async close() {
      fs.rmSync(home, { recursive: true, force: true });
    },
  };
}

/** What test/support/legacy_sqs_boto3.py answers a line with. */
type Boto3Answer =
  | { ok: true; output?: unknown; url?: string; status?: number; contentType?: string | null; body?: string }
  | { ok: false; error: { exception: string; code: string; message: string; status: number } };

/** An answer to a presigned URL POSTed by urllib. */
export interface Posted {
  status: number;
  contentType: string | null;
  body: string;
}

export interface Boto3Client extends SqsClient {
  /** boto3's generate_presigned_url for the operation, signed with the client's own credentials. */
  presign<O extends Operation>(operation: O, input: InputOf<O>, expiresInSeconds: number): Promise<string>;
  /** A URL POSTed with an empty body by urllib, in the same process. */
  post(url: string): Promise<Posted>;
}

/**
 * Debian's boto3 1.26.27: one Python process (test/support/legacy_sqs_boto3.py)
 * making each call with its client, answering a line for each line it reads.
 * Calls are answered in order; a process that ends fails those still waiting.
 */
export function boto3(endpoint: string, own: Credentials): Boto3Client {
  const home = tempDir('mqgate-boto3-');
  const python = spawn(DEBIAN_PYTHON, [BOTO3_SCRIPT, endpoint], { env: awsEnvironment(home, own), stdio: ['pipe', 'pipe', 'pipe'] });
  const waiting: Array<{ resolve: (answer: Boto3Answer) => void; reject: (error: Error) => void }> = [];
  let stderr = '';
  let ended: Error | null = null;
  python.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
  readline.createInterface({ input: python.stdout }).on('line', (line) => waiting.shift()?.resolve(JSON.parse(line) as Boto3Answer));
  const exited = new Promise<void>((resolve) => {
    const end = (why: string): void => {
      ended = new Error(`${BOTO3_SCRIPT} ${why}:\n${stderr}`);
      for (const call of waiting.splice(0)) call.reject(ended);
      resolve();
    };
    python.on('error', (error) => end(`could not run: ${error.message}`));
    python.on('exit', (code, signal) => end(`ended (${signal ?? code})`));
  });
  const ask = (request: object): Promise<Boto3Answer> =>
    new Promise((resolve, reject) => {
      if (ended !== null) {
        reject(ended);
        return;
      }
      waiting.push({ resolve, reject });
      python.stdin.write(`${JSON.stringify(withBlobs(request, (bytes) => ({ $bytes: bytes.toString('base64') })))}\n`);
    });
  /** {"$bytes": base64} as Buffers. */
  const bytesIn = (value: unknown): unknown => {
    if (Array.isArray(value)) return value.map(bytesIn);
    if (!isRecord(value)) return value;
    const keys = Object.keys(value);
    if (keys.length === 1 && keys[0] === '$bytes' && typeof value.$bytes === 'string') return Buffer.from(value.$bytes, 'base64');
    return Object.fromEntries(Object.entries(value).map(([key, item]) => [key, bytesIn(item)]));
  };
  const succeeded = (answer: Boto3Answer): Extract<Boto3Answer, { ok: true }> => {
    if (!answer.ok) throw new Error(`boto3 failed: ${JSON.stringify(answer.error)}`);
    return answer;
  };
  return {
    name: 'boto3',
    async call(operation, input, credentials) {
      const answer = await ask({ call: operation, params: input, ...(credentials === undefined ? {} : { credentials }) });
      if (answer.ok) return { ok: true, output: bytesIn(answer.output ?? {}) as OutputOf<typeof operation> };
      const { exception, code, message, status } = answer.error;
      return { ok: false, refusal: { raised: exception, code, status: { http: status }, message } };
    },
    async presign(operation, input, expiresInSeconds) {
      const { url } = succeeded(await ask({ presign: operation, params: input, expiresIn: expiresInSeconds }));
      if (url === undefined) throw new Error('boto3 made no URL');
      return url;
    },
    async post(url) {
      const { status, contentType, body } = succeeded(await ask({ post: url }));
      if (status === undefined || body === undefined) throw new Error('urllib reported no answer');
      return { status, contentType: contentType ?? null, body };
    },
    async close() {
      // End of input ends the script.
      python.stdin.end();
      await exited;
      fs.rmSync(home, { recursive: true, force: true });
    },
  };
}
