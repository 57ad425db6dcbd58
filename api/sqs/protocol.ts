import { isUtf8 } from 'node:buffer';
import crypto from 'node:crypto';
import type { Request, Response } from 'express';
import { invalidParameter, missingParameter, SQS_ERRORS, SqsError } from './errors';

/**
 * One of the two wire protocols SQS clients speak: how a request names its
 * action and members, and how results and errors are written back.
 */
export interface SqsProtocol {
  /** The action the request names and its members; `body` is the raw body. */
  read(req: Request, body: Buffer): { action: string; input: Input };
  answer(res: Response, action: string, result: object): void;
  fail(res: Response, error: SqsError): void;
}

/** The AWS JSON 1.0 protocol: one content type both ways. */
export const JSON_CONTENT_TYPE = 'application/x-amz-json-1.0';
/** How an action is named in either protocol. */
export const ACTION_NAME = /^[A-Za-z]{1,64}$/;

/** The action `X-Amz-Target: AmazonSQS.<Action>` names. */
function actionOf(target: string | undefined): string {
  const action = /^AmazonSQS\.(.*)$/s.exec(target ?? '')?.[1];
  if (action === undefined || !ACTION_NAME.test(action)) throw new SqsError('InvalidAction', 'The X-Amz-Target header must name an action: AmazonSQS.<Action>.');
  return action;
}

function kindOf(value: unknown): string {
  return Array.isArray(value) ? 'array' : value === null ? 'null' : typeof value;
}

/**
 * A member of the query protocol, where every value is text, as the type the
 * action reads it as: `12` a number, `true` a boolean, `` (botocore's empty
 * list) an empty list. Text that is not of the type stays text, and is then
 * refused as JSON of the wrong type is.
 */
function fromText(text: string, kind: string): unknown {
  if (kind === 'number' && /^-?\d{1,15}$/.test(text)) return Number(text);
  if (kind === 'boolean' && (text === 'true' || text === 'false')) return text === 'true';
  if (kind === 'array' && text === '') return [];
  return text;
}

/**
 * The members of a request (or of one batch entry), read by type. The SDK
 * checks nothing before sending, so every member is checked here: absent
 * required ones are MissingParameter, ill-typed ones InvalidParameterValue.
 */
export class Input {
  private constructor(
    private readonly fields: Record<string, unknown>,
    /** Where these members are: '' for the request, `Entries.2.` for a batch entry. */
    private readonly at: string,
    /** The query protocol's members: every value is text (see fromText). */
    private readonly textual: boolean,
  ) {}

  /** The members of a query-protocol request, shaped as JSON 1.0's (api/sqs/query.ts). */
  static ofText(fields: Record<string, unknown>): Input {
    return new Input(fields, '', true);
  }

  /** The request body: a JSON object (the SDK sends `{}` for an empty input). */
  static parse(body: Buffer): Input {
    // Decoding would replace bad bytes with U+FFFD, changing a message body: refuse them instead.
    if (!isUtf8(body)) throw new SqsError('SerializationException', 'The request body is not valid UTF-8.');
    let parsed: unknown;
    try {
      parsed = JSON.parse(body.length === 0 ? '{}' : body.toString('utf8'));
    } catch {
      throw new SqsError('SerializationException', 'The request body is not valid JSON.');
    }
    if (kindOf(parsed) !== 'object') throw new SqsError('SerializationException', 'The request body must be a JSON object.');
    return new Input(parsed as Record<string, unknown>, '', false);
  }

  private value(name: string, kind: string): unknown {
    const given = this.fields[name];
    if (given === undefined || given === null) return undefined;
    const value = this.textual && typeof given === 'string' ? fromText(given, kind) : given;
    if (kindOf(value) !== kind) throw invalidParameter(this.at + name, value, `Must be ${kind === 'object' ? 'a map' : `a ${kind}`}.`);
    return value;
  }

  /** These members, with `QueueUrl` the URL the request was sent to when they name none (older SDKs send a queue's calls to its URL). */
  withQueueUrl(url: string): Input {
    return this.has('QueueUrl') ? this : new Input({ ...this.fields, QueueUrl: url }, this.at, this.textual);
  }

  has(name: string): boolean {
    return this.fields[name] !== undefined && this.fields[name] !== null;
  }

  optionalString(name: string): string | undefined {
    return this.value(name, 'string') as string | undefined;
  }

  /** A required string: absent or empty is MissingParameter, as SQS answers both. */
  string(name: string): string {
    const value = this.optionalString(name);
    if (value === undefined || value === '') throw missingParameter(this.at + name);
    return value;
  }

  optionalBoolean(name: string): boolean | undefined {
    return this.value(name, 'boolean') as boolean | undefined;
  }

  /** An integer in [min, max], if given. */
  integer(name: string, min: number, max: number): number | undefined {
    const value = this.value(name, 'number') as number | undefined;
    if (value !== undefined && (!Number.isInteger(value) || value < min || value > max)) {
      throw invalidParameter(this.at + name, value, `Must be between ${min} and ${max}, if provided.`);
    }
    return value;
  }

  /** A map of strings (Attributes, Tags), if given. */
  stringMap(name: string): Record<string, string> | undefined {
    const map = this.value(name, 'object') as Record<string, unknown> | undefined;
    if (map === undefined) return undefined;
    for (const [key, value] of Object.entries(map)) {
      if (typeof value !== 'string') throw invalidParameter(`${this.at}${name}.${key}`, value, 'Must be a string.');
    }
    return map as Record<string, string>;
  }

  /** A map whose values are objects (MessageAttributes), each as an Input of its own. */
  inputMap(name: string): Map<string, Input> | undefined {
    const map = this.value(name, 'object') as Record<string, unknown> | undefined;
    if (map === undefined) return undefined;
    return new Map(Object.entries(map).map(([key, value]) => [key, this.nested(`${name}.${key}`, value)]));
  }

  stringList(name: string): string[] | undefined {
    const list = this.value(name, 'array') as unknown[] | undefined;
    list?.forEach((item, i) => {
      if (typeof item !== 'string') throw invalidParameter(`${this.at}${name}.${i + 1}`, item, 'Must be a string.');
    });
    return list as string[] | undefined;
  }

  /** A list of objects (batch Entries), each as an Input of its own. */
  inputList(name: string): Input[] | undefined {
    const list = this.value(name, 'array') as unknown[] | undefined;
    return list?.map((item, i) => this.nested(`${name}.${i + 1}`, item));
  }

  private nested(at: string, value: unknown): Input {
    if (kindOf(value) !== 'object') throw invalidParameter(this.at + at, value, 'Must be a structure.');
    return new Input(value as Record<string, unknown>, `${this.at}${at}.`, this.textual);
  }
}

function send(res: Response, status: number, body: object): void {
  res.status(status).set('x-amzn-RequestId', crypto.randomUUID()).type(JSON_CONTENT_TYPE).send(JSON.stringify(body));
}

/** AWS JSON 1.0: the action in `X-Amz-Target`, the members a JSON object, results and errors JSON. */
export const jsonProtocol: SqsProtocol = {
  read: (req, body) => ({ action: actionOf(req.get('X-Amz-Target')), input: Input.parse(body) }),
  answer: (res, _action, result) => send(res, 200, result),
  /** An error as SQS answers it: `__type` and `message`, and the query-compatible code the SDK names the error by. */
  fail(res, error) {
    const { type, queryCode, status } = SQS_ERRORS[error.sqsName];
    res.set('x-amzn-query-error', `${queryCode};${status >= 500 ? 'Receiver' : 'Sender'}`);
    send(res, status, { __type: type, message: error.message });
  },
};
