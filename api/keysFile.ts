import fs from 'node:fs';
import Ajv2020, { type ErrorObject } from 'ajv/dist/2020';
import YAML from 'yaml';
import type { ApiKey, KeyLimits } from './keys';
import { SCOPE_PATTERN, parseScope } from './scopes';

/** A keys document as written in the keys file or MQGATE_KEYS (YAML or JSON). */
interface KeysDocument {
  keys: Array<{ id: string; name: string; hash: string; scopes: string[]; limits?: Partial<KeyLimits>; sqsSecret?: string }>;
}

const RATE = { type: ['integer', 'null'], minimum: 1 };

const KEYS_SCHEMA = {
  type: 'object',
  additionalProperties: false,
  required: ['keys'],
  properties: {
    keys: {
      type: 'array',
      items: {
        type: 'object',
        additionalProperties: false,
        required: ['id', 'name', 'hash', 'scopes'],
        properties: {
          id: { type: 'string', pattern: '^[0-9a-f]{12}$' },
          name: { type: 'string', minLength: 1, maxLength: 200 },
          hash: { type: 'string', pattern: '^sha256:[0-9a-f]{64}$' },
          scopes: { type: 'array', minItems: 1, items: { type: 'string', pattern: SCOPE_PATTERN } },
          limits: {
            type: 'object',
            additionalProperties: false,
            properties: { requestsPerSecond: RATE, bytesPerSecond: RATE, longPolls: { type: ['integer', 'null'], minimum: 0 } },
          },
          // The secret of the key's SQS credentials (api/sqs/): the key id is the access key id.
          sqsSecret: { type: 'string', pattern: '^[A-Za-z0-9/+_=-]{16,128}$' },
        },
      },
    },
  },
};

const validate = new Ajv2020({ allErrors: true, allowUnionTypes: true }).compile<KeysDocument>(KEYS_SCHEMA);

/** What a field that fails its pattern should look like. */
const PATTERN_HINTS: Record<string, string> = {
  id: 'must be 12 hex digits',
  hash: 'must be sha256: and 64 hex digits',
  sqsSecret: 'must be 16 to 128 characters of A-Z, a-z, 0-9 and /+_=-',
  scopes: 'must be <produce|consume|admin|*>:<queues|topics|push-subscriptions>/<name, * for any characters>, or <action>:*',
};

/** `keys/0/scopes/1 must be …`, one clause per bad field. */
function describe(errors: ErrorObject[]): string {
  return errors
    .map((e) => {
      const extra = (e.params as { additionalProperty?: string }).additionalProperty;
      const at = `${e.instancePath.slice(1) || '(top)'}${extra === undefined ? '' : `/${extra}`}`;
      if (extra !== undefined) return `${at} is not a known field`;
      const field = e.instancePath.split('/').filter((part) => !/^\d+$/.test(part)).pop() ?? '';
      const hint = e.keyword === 'pattern' ? PATTERN_HINTS[field] : undefined;
      return `${at} ${hint ?? e.message ?? 'is invalid'}`;
    })
    .join('; ');
}

/** Parses and checks a keys document; `source` names it in the error. Throws Error with every bad field. */
export function parseKeys(text: string, source: string): ApiKey[] {
  let document: unknown;
  try {
    document = YAML.parse(text);
  } catch (error) {
    throw new Error(`${source} is not valid YAML: ${(error as Error).message.split('\n')[0]}`);
  }
  return checkKeys(document, source);
}

/** Checks a keys document already parsed (`{ keys: [...] }`); `source` names it in the error. Throws Error with every bad field. */
export function checkKeys(document: unknown, source: string): ApiKey[] {
  if (!validate(document)) throw new Error(`${source}: ${describe(validate.errors ?? [])}`);
  return document.keys.map((key) => ({ ...key, scopes: key.scopes.map(parseScope), limits: key.limits ?? {} }));
}

function unreadable(file: string, error: unknown): Error {
  return new Error(`keys file ${file} cannot be read: ${(error as NodeJS.ErrnoException).code ?? String(error)}`);
}

function readText(file: string): string {
  try {
    return fs.readFileSync(file, 'utf8');
  } catch (error) {
    throw unreadable(file, error);
  }
}

/** The keys file's keys, read at start. */
export function readKeysFile(file: string): ApiKey[] {
  return parseKeys(readText(file), `keys file ${file}`);
}

/** The keys file's keys, read again while the gateway serves: without blocking it, for a file on a network mount may be slow to answer. */
export async function rereadKeysFile(file: string): Promise<ApiKey[]> {
  const text = await fs.promises.readFile(file, 'utf8').catch((error: unknown) => Promise.reject(unreadable(file, error)));
  return parseKeys(text, `keys file ${file}`);
}

/** The keys of the keys file and those given inline, together; an id given twice (in one or both) is refused. */
export function combineKeys(fromFile: ApiKey[], inline: ApiKey[]): ApiKey[] {
  const keys = [...fromFile, ...inline];
  const ids = keys.map((key) => key.id);
  const repeated = ids.find((id, i) => ids.indexOf(id) !== i);
  if (repeated !== undefined) throw new Error(`key ${repeated} is configured twice`);
  return keys;
}

/** Adds one key to a keys file, creating it if missing (mode 0600: hashes only, but still nobody else's business). */
export function appendKey(file: string, entry: KeysDocument['keys'][number]): void {
  const document = fs.existsSync(file) ? YAML.parseDocument(fs.readFileSync(file, 'utf8')) : new YAML.Document({ keys: [] });
  const current = document.toJS() as KeysDocument | null;
  if (current?.keys?.some((key) => key.id === entry.id)) throw new Error(`keys file ${file} already has a key ${entry.id}`);
  if (document.contents === null) document.contents = document.createNode({ keys: [] });
  document.addIn(['keys'], document.createNode(entry));
  const text = document.toString();
  parseKeys(text, `keys file ${file}`);
  fs.writeFileSync(file, text, { mode: 0o600 });
}

/** Removes key `id` from a keys file, which must be valid; false, and the file left as it is, when it has no such key. */
export function removeKey(file: string, id: string): boolean {
  const text = readText(file);
  const index = parseKeys(text, `keys file ${file}`).findIndex((key) => key.id === id);
  if (index === -1) return false;
  const document = YAML.parseDocument(text);
  document.deleteIn(['keys', index]);
  fs.writeFileSync(file, document.toString());
  return true;
}
