import type { Response, Test } from 'supertest';
import type { TestGateway } from './testGateway';

// SOAP callers of each version, and what mqgate answers them with: shared by
// soap.test.ts (every answer) and fsync-order.test.ts (a failed fsync, which
// only SQLite's store lets a test cause).

const ENVELOPE_11 =
  '<soap:Envelope xmlns:soap="http://schemas.xmlsoap.org/soap/envelope/"><soap:Body><m:Ping xmlns:m="urn:ping"/></soap:Body></soap:Envelope>';
const ENVELOPE_12 =
  '<env:Envelope xmlns:env="http://www.w3.org/2003/05/soap-envelope"><env:Body><m:Ping xmlns:m="urn:ping"/></env:Body></env:Envelope>';

/** A SOAP caller of each version: its request headers, body, and what its faults look like. */
export const VERSIONS = [
  {
    version: '1.1',
    headers: { 'Content-Type': 'text/xml; charset=utf-8', SOAPAction: '"urn:ping#Ping"' },
    body: ENVELOPE_11,
    faultType: 'text/xml; charset=utf-8',
    fault: (code: string, status: number, side: 'caller' | 'gateway') =>
      new RegExp(
        `^<\\?xml version="1.0" encoding="utf-8"\\?>\\n<soap:Envelope xmlns:soap="http://schemas.xmlsoap.org/soap/envelope/" xmlns:mq="urn:mqgate:soap:1">` +
          `<soap:Body><soap:Fault><faultcode>soap:${side === 'caller' ? 'Client' : 'Server'}</faultcode><faultstring>[^<]+</faultstring>` +
          `<detail><mq:problem><mq:code>${code}</mq:code><mq:status>${status}</mq:status>`,
      ),
  },
  {
    version: '1.2',
    headers: { 'Content-Type': 'application/soap+xml; charset=utf-8; action="urn:ping#Ping"' },
    body: ENVELOPE_12,
    faultType: 'application/soap+xml; charset=utf-8',
    fault: (code: string, status: number, side: 'caller' | 'gateway') =>
      new RegExp(
        `^<\\?xml version="1.0" encoding="utf-8"\\?>\\n<env:Envelope xmlns:env="http://www.w3.org/2003/05/soap-envelope" xmlns:mq="urn:mqgate:soap:1">` +
          `<env:Body><env:Fault><env:Code><env:Value>env:${side === 'caller' ? 'Sender' : 'Receiver'}</env:Value>` +
          `<env:Subcode><env:Value>mq:${code}</env:Value></env:Subcode></env:Code><env:Reason><env:Text xml:lang="en">[^<]+</env:Text></env:Reason>` +
          `<env:Detail><mq:problem><mq:code>${code}</mq:code><mq:status>${status}</mq:status>`,
      ),
  },
] as const;

export type Soap = (typeof VERSIONS)[number];

/** A SOAP call of `soap`'s version to a test gateway. */
export function soapPost(http: TestGateway['http'], soap: Soap, path: string, body: string = soap.body): Test {
  return (
    http
      .post(path)
      .set(soap.headers)
      // Read as text whatever the type: superagent leaves application/soap+xml unread otherwise.
      .buffer(true)
      .send(body)
  );
}

/** The answer is a fault of `soap`'s version carrying `code` and `status`, blamed on the caller or on the gateway. */
export function expectFault(res: Response, soap: Soap, code: string, status: number, side: 'caller' | 'gateway' = 'caller'): void {
  expect(res.status).toBe(500);
  expect(res.headers['content-type']).toBe(soap.faultType);
  expect(res.text).toMatch(soap.fault(code, status, side));
}
