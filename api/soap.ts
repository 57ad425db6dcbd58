import type { Request, Response } from 'express';
import { parse as parseContentType } from 'content-type';
import type { AppendResult } from '../persistence/store';
import type { GatewayError } from '../queue/errors';

/**
 * SOAP callers. A request is SOAP when its content type is `text/xml` with a
 * `SOAPAction` header (SOAP 1.1) or `application/soap+xml` (SOAP 1.2, whose
 * action is the content type's `action` parameter). Unless such a caller asks
 * for JSON (`Accept: application/json`), it is answered as SOAP clients
 * expect: success as `202` with no body (a one-way operation) or `200` with an
 * envelope (`soapAnswer=envelope`), every failure as `500` with a fault of
 * its SOAP version.
 */
export type SoapVersion = '1.1' | '1.2';

const ENVELOPE = {
  '1.1': { prefix: 'soap', namespace: 'http://schemas.xmlsoap.org/soap/envelope/', contentType: 'text/xml; charset=utf-8' },
  '1.2': { prefix: 'env', namespace: 'http://www.w3.org/2003/05/soap-envelope', contentType: 'application/soap+xml; charset=utf-8' },
} as const;

/** The namespace of mqgate's own elements in answers and fault details. */
export const MQGATE_SOAP_NAMESPACE = 'urn:mqgate:soap:1';

/** The content type's media type and parameters; null when there is none, or it cannot be parsed. */
function contentTypeOf(req: Request): { type: string; parameters: Record<string, string> } | null {
  const header = req.headers['content-type'];
  if (header === undefined) return null;
  try {
    return parseContentType(header);
  } catch {
    return null;
  }
}

/** The SOAP version a request speaks, whatever it asks for back; null when it is not SOAP. */
function soapVersionOf(req: Request): SoapVersion | null {
  const type = contentTypeOf(req)?.type;
  if (type === 'application/soap+xml') return '1.2';
  if (type === 'text/xml' && req.headers.soapaction !== undefined) return '1.1';
  return null;
}

/**
 * The SOAP version to answer a request in: null for a request that is not
 * SOAP, asks for JSON, or is not for an operation that answers SOAP callers
 * (produce and request–reply; their `x-mqgate-soap-responses`).
 */
export function soapAnswerOf(req: Request): SoapVersion | null {
  if (req.res?.locals.soap !== true) return null;
  const version = soapVersionOf(req);
  if (version === null) return null;
  return req.accepts([ENVELOPE[version].contentType.split(';')[0], 'application/json']) === 'application/json' ? null : version;
}

/** A SOAP 1.2 request's action (the `action` parameter of its content type), in SOAPAction's quoted form; undefined without one. */
export function soap12Action(req: Request): string | undefined {
  const parsed = contentTypeOf(req);
  if (parsed?.type !== 'application/soap+xml') return undefined;
  const action = parsed.parameters.action;
  return action === undefined ? undefined : JSON.stringify(action);
}

/** Characters XML 1.0 cannot carry become U+FFFD; markup characters are escaped. */
function xmlText(text: string): string {
  return text
    .replace(/[^\t\n\r\u0020-\uD7FF\uE000-\uFFFD\u{10000}-\u{10FFFF}]/gu, '\uFFFD')
    .replace(/&/g, '&amp;')
    .replace(/</g, '&lt;')
    .replace(/>/g, '&gt;')
    .replace(/"/g, '&quot;');
}

/** `<mq:name>text</mq:name>` for each entry, in order. */
function elements(entries: Array<[string, string]>): string {
  return entries.map(([name, text]) => `<mq:${name}>${xmlText(text)}</mq:${name}>`).join('');
}

function envelope(version: SoapVersion, body: string): string {
  const { prefix, namespace } = ENVELOPE[version];
  return (
    `<?xml version="1.0" encoding="utf-8"?>\n` +
    `<${prefix}:Envelope xmlns:${prefix}="${namespace}" xmlns:mq="${MQGATE_SOAP_NAMESPACE}">` +
    `<${prefix}:Body>${body}</${prefix}:Body></${prefix}:Envelope>`
  );
}

function send(res: Response, status: number, version: SoapVersion, xml: string): void {
  res.status(status).setHeader('Content-Type', ENVELOPE[version].contentType);
  res.end(xml);
}

/**
 * A problem as a SOAP fault, HTTP 500: `Client`/`Sender` for the caller's
 * errors (4xx), `Server`/`Receiver` for the gateway's; the detail carries the
 * problem's code, status, title, detail and field errors.
 */
export function sendFault(res: Response, version: SoapVersion, error: GatewayError, problem: { status: number; title: string }): void {
  const callers = problem.status < 500;
  const detail =
    `<mq:problem>${elements([
      ['code', error.code],
      ['status', String(problem.status)],
      ['title', problem.title],
      ['detail', error.message],
    ])}` +
    (error.errors ?? []).map((field) => `<mq:error pointer="${xmlText(field.pointer)}">${xmlText(field.detail)}</mq:error>`).join('') +
    `</mq:problem>`;
  const fault =
    version === '1.1'
      ? `<soap:Fault><faultcode>soap:${callers ? 'Client' : 'Server'}</faultcode>` +
        `<faultstring>${xmlText(`${problem.title}: ${error.message}`)}</faultstring><detail>${detail}</detail></soap:Fault>`
      : `<env:Fault><env:Code><env:Value>env:${callers ? 'Sender' : 'Receiver'}</env:Value>` +
        `<env:Subcode><env:Value>mq:${error.code}</env:Value></env:Subcode></env:Code>` +
        `<env:Reason><env:Text xml:lang="en">${xmlText(`${problem.title}: ${error.message}`)}</env:Text></env:Reason>` +
        `<env:Detail>${detail}</env:Detail></env:Fault>`;
  send(res, 500, version, envelope(version, fault));
}

/** Where a message was produced, as an acknowledging envelope names it. */
export type ProducedAt = { queue: string } | { topic: string };

/**
 * A stored message, answered to a SOAP caller: `202` and no body (a one-way
 * operation), or with `envelope`, `200` and `<mq:accepted>` naming it.
 */
export function sendAccepted(res: Response, version: SoapVersion, answer: 'accepted' | 'envelope', at: ProducedAt, result: AppendResult): void {
  if (answer === 'accepted') {
    res.status(202).end();
    return;
  }
  const where: Array<[string, string]> =
    'queue' in at ? [['queue', at.queue]] : [['topic', at.topic], ['partition', String(result.partition)], ['offset', String(result.offset)]];
  const accepted = elements([
    ['messageId', result.id],
    ...where,
    ['timestamp', new Date(result.timestamp).toISOString()],
    ['duplicate', String(result.duplicate)],
  ]);
  send(res, 200, version, envelope(version, `<mq:accepted>${accepted}</mq:accepted>`));
}
