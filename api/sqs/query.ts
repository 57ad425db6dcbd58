import { isUtf8 } from 'node:buffer';
import crypto from 'node:crypto';
import type { Response } from 'express';
import { missingParameter, SQS_ERRORS, SqsError } from './errors';
import { ACTION_NAME, Input, type SqsProtocol } from './protocol';

/**
 * The SQS query protocol, which SDKs released before late 2023 speak
 * (awscli 2.9, boto3 1.26, aws-sdk for JavaScript v2, the Java 1.x SDK):
 * form-encoded members (`Action=SendMessage&QueueUrl=…&MessageAttribute.1.Name=…`)
 * and XML answers. Its members are read into the shape JSON 1.0 gives them,
 * so that every action serves both protocols unchanged: the names below are
 * the SQS model's (its `locationName`s), lists and maps flattened.
 */
export const QUERY_CONTENT_TYPE = 'application/x-www-form-urlencoded';
const NAMESPACE = 'http://queue.amazonaws.com/doc/2012-11-05/';

/** A flattened list's member name → the JSON 1.0 member it fills. */
const LISTS: Record<string, string> = {
  AttributeName: 'AttributeNames',
  MessageAttributeName: 'MessageAttributeNames',
  MessageSystemAttributeName: 'MessageSystemAttributeNames',
  TagKey: 'TagKeys',
  AWSAccountId: 'AWSAccountIds',
  ActionName: 'Actions',
  SendMessageBatchRequestEntry: 'Entries',
  DeleteMessageBatchRequestEntry: 'Entries',
  ChangeMessageVisibilityBatchRequestEntry: 'Entries',
  StringListValue: 'StringListValues',
  BinaryListValue: 'BinaryListValues',
};

/** A flattened map: its entries' name, the names of an entry's key and value, and the JSON 1.0 member it is. */
interface MapShape {
  entry: string;
  key: string;
  value: string;
  /** The JSON 1.0 member; `tags` is lower-case in CreateQueue only. */
  member: (action: string) => string;
}

const ATTRIBUTES: MapShape = { entry: 'Attribute', key: 'Name', value: 'Value', member: () => 'Attributes' };
const MESSAGE_ATTRIBUTES: MapShape = { entry: 'MessageAttribute', key: 'Name', value: 'Value', member: () => 'MessageAttributes' };
const TAGS: MapShape = { entry: 'Tag', key: 'Key', value: 'Value', member: (action) => (action === 'CreateQueue' ? 'tags' : 'Tags') };
const SYSTEM_ATTRIBUTES: MapShape = { entry: 'MessageSystemAttribute', key: 'Name', value: 'Value', member: () => 'MessageSystemAttributes' };
const MAP_BY_ENTRY = new Map([ATTRIBUTES, MESSAGE_ATTRIBUTES, TAGS, SYSTEM_ATTRIBUTES].map((shape) => [shape.entry, shape]));

/** Members as sent: `A.1.B=x` is the tree A → 1 → B → 'x'. */
type Tree = Map<string, Tree | string>;

function malformed(parameter: string, why: string): SqsError {
  return new SqsError('InvalidParameterValue', `The parameter ${parameter} ${why}.`);
}

/** `application/x-www-form-urlencoded` pairs; invalid UTF-8 is refused, never replaced. */
function pairsOf(text: string): Array<[string, string]> {
  const decode = (part: string): string => {
    const spaced = part.includes('+') ? part.replace(/\+/g, ' ') : part;
    // Most members (bodies included) hold nothing escaped: they need no decoding pass.
    if (!spaced.includes('%')) return spaced;
    try {
      return decodeURIComponent(spaced);
    } catch {
      throw new SqsError('SerializationException', 'The request is not valid form encoding of UTF-8 text.');
    }
  };
  return text
    .split('&')
    .filter((pair) => pair !== '')
    .map((pair) => {
      const equals = pair.indexOf('=');
      return equals < 0 ? [decode(pair), ''] : [decode(pair.slice(0, equals)), decode(pair.slice(equals + 1))];
    });
}

function treeOf(pairs: Array<[string, string]>): Tree {
  const root: Tree = new Map();
  for (const [name, value] of pairs) {
    const path = name.split('.');
    let node = root;
    path.slice(0, -1).forEach((segment, i) => {
      const next = node.get(segment) ?? new Map<string, Tree | string>();
      if (typeof next === 'string') throw malformed(path.slice(0, i + 1).join('.'), 'is given both as a value and as a structure');
      node.set(segment, next);
      node = next;
    });
    const last = path[path.length - 1];
    if (node.has(last)) throw malformed(name, typeof node.get(last) === 'string' ? 'is given twice' : 'is given both as a value and as a structure');
    node.set(last, value);
  }
  return root;
}

/** A flattened list's items (`.1`, `.2`, …) in index order. */
function itemsOf(name: string, node: Tree | string): Array<Tree | string> {
  if (typeof node === 'string') throw malformed(name, `must be numbered: ${name}.1, ${name}.2, …`);
  const indexed = [...node].map(([index, item]): [number, Tree | string] => {
    if (!/^[1-9]\d{0,5}$/.test(index)) throw malformed(`${name}.${index}`, 'must be numbered from 1');
    return [Number(index), item];
  });
  return indexed.sort(([a], [b]) => a - b).map(([, item]) => item);
}

/** A subtree as JSON 1.0 members; `at` is where it is, for errors. */
function membersOf(tree: Tree, action: string, at: string): Record<string, unknown> {
  return Object.fromEntries(
    [...tree].map(([name, node]): [string, unknown] => {
      const map = MAP_BY_ENTRY.get(name);
      if (map !== undefined) return [map.member(action), mapOf(map, itemsOf(at + name, node), action, `${at}${name}.`)];
      const list = Object.hasOwn(LISTS, name) ? LISTS[name] : undefined;
      if (list !== undefined) {
        return [list, itemsOf(at + name, node).map((item, i) => valueOf(item, action, `${at}${name}.${i + 1}.`))];
      }
      return [name, valueOf(node, action, `${at}${name}.`)];
    }),
  );
}

function valueOf(node: Tree | string, action: string, at: string): unknown {
  return typeof node === 'string' ? node : membersOf(node, action, at);
}

function mapOf(shape: MapShape, entries: Array<Tree | string>, action: string, at: string): Record<string, unknown> {
  return Object.fromEntries(
    entries.map((entry, i) => {
      const where = `${at}${i + 1}.`;
      if (typeof entry === 'string') throw missingParameter(where + shape.key);
      const key = entry.get(shape.key);
      if (typeof key !== 'string' || key === '') throw missingParameter(where + shape.key);
      const value = entry.get(shape.value);
      if (value === undefined) throw missingParameter(where + shape.value);
      return [key, valueOf(value, action, `${where}${shape.value}.`)];
    }),
  );
}

/** The request's action and members: the query string's and the form body's together, as SQS reads them. */
function readQuery(query: string, body: Buffer): { action: string; input: Input } {
  if (!isUtf8(body)) throw new SqsError('SerializationException', 'The request body is not valid UTF-8.');
  const tree = treeOf([...pairsOf(query), ...pairsOf(body.toString('utf8'))]);
  const action = tree.get('Action');
  if (action === undefined || action === '') throw new SqsError('InvalidAction', 'The request must name an action: Action=<Action>.');
  if (typeof action !== 'string' || !ACTION_NAME.test(action)) throw new SqsError('InvalidAction', 'The Action parameter must name an action.');
  tree.delete('Action');
  return { action, input: Input.ofText(membersOf(tree, action, '')) };
}

/** The element of one item of a flattened list in a result, by the JSON 1.0 member the list is. */
function itemElement(member: string, action: string): string {
  switch (member) {
    case 'QueueUrls':
    case 'queueUrls':
      return 'QueueUrl';
    case 'Messages':
      return 'Message';
    case 'Failed':
      return 'BatchResultErrorEntry';
    case 'Successful':
    case 'Results':
      return `${action}ResultEntry`;
    default:
      return member;
  }
}

/** Maps in results: their entries' element and the names of an entry's key and value. */
const RESULT_MAPS: Record<string, MapShape> = { Attributes: ATTRIBUTES, MessageAttributes: MESSAGE_ATTRIBUTES, Tags: TAGS };

/** Characters XML 1.0 cannot hold, even as references. */
const NOT_XML = /[^\t\n\r\u0020-\uD7FF\uE000-\uFFFD\u{10000}-\u{10FFFF}]/gu;

/** Text as XML character data; `\r` as a reference, since a parser reads a bare one as a line end. */
function escape(text: string): string {
  return text
    .replace(NOT_XML, '\uFFFD')
    .replace(/[&<>\r]/g, (c) => (c === '&' ? '&amp;' : c === '<' ? '&lt;' : c === '>' ? '&gt;' : '&#xD;'));
}

const element = (name: string, content: string): string => `<${name}>${content}</${name}>`;

function isStructure(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function contentOf(value: unknown, action: string): string {
  return isStructure(value) ? xmlMembers(value, action) : escape(String(value));
}

function xmlMembers(members: Record<string, unknown>, action: string): string {
  return Object.entries(members)
    .map(([name, value]) => {
      if (Array.isArray(value)) return value.map((item) => element(itemElement(name, action), contentOf(item, action))).join('');
      const map = Object.hasOwn(RESULT_MAPS, name) ? RESULT_MAPS[name] : undefined;
      if (map !== undefined && isStructure(value)) {
        return Object.entries(value)
          .map(([key, item]) => element(map.entry, element(map.key, escape(key)) + element(map.value, contentOf(item, action))))
          .join('');
      }
      return element(name, contentOf(value, action));
    })
    .join('');
}

/** Actions whose answer has no result element in SQS (the model gives them no output). */
const NO_RESULT = new Set([
  'DeleteMessage',
  'DeleteQueue',
  'ChangeMessageVisibility',
  'SetQueueAttributes',
  'PurgeQueue',
  'TagQueue',
  'UntagQueue',
  'AddPermission',
  'RemovePermission',
]);

function sendXml(res: Response, status: number, body: (requestId: string) => string): void {
  const requestId = crypto.randomUUID();
  res
    .status(status)
    .set('x-amzn-RequestId', requestId)
    .type('text/xml')
    .send(`<?xml version="1.0"?>${body(requestId)}`);
}

/** The query protocol: members from the form body and query string, answers in SQS's XML. */
export const queryProtocol: SqsProtocol = {
  read: (req, body) => {
    const query = req.originalUrl.indexOf('?');
    return readQuery(query < 0 ? '' : req.originalUrl.slice(query + 1), body);
  },
  answer(res, action, result) {
    sendXml(res, 200, (requestId) => {
      const wrapped = NO_RESULT.has(action) ? '' : element(`${action}Result`, xmlMembers(result as Record<string, unknown>, action));
      const metadata = element('ResponseMetadata', element('RequestId', requestId));
      return `<${action}Response xmlns="${NAMESPACE}">${wrapped}${metadata}</${action}Response>`;
    });
  },
  /** `ErrorResponse/Error/{Type,Code,Message}`: the SDKs raise the error named by Code. */
  fail(res, error) {
    const { queryCode, status } = SQS_ERRORS[error.sqsName];
    sendXml(res, status, (requestId) => {
      const detail = element('Type', status >= 500 ? 'Receiver' : 'Sender') + element('Code', queryCode) + element('Message', escape(error.message)) + '<Detail/>';
      return `<ErrorResponse xmlns="${NAMESPACE}">${element('Error', detail)}${element('RequestId', requestId)}</ErrorResponse>`;
    });
  },
};
