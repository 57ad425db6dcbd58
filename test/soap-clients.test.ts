import { execFile } from 'node:child_process';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { promisify } from 'node:util';
import { parse as parseContentType } from 'content-type';
import { createClientAsync } from 'soap';
import { type ApiKey, generateKey } from '../api/keys';
import { checkKeys } from '../api/keysFile';
import { eventually, polled, startReceiver } from './support/receiver';
import { until } from './support/specResponses';
import { disposeTestGateway, type TestGateway, type TestGatewayOptions, testGateway } from './support/testGateway';

/**
 * Real SOAP clients, built from test/soap/orders.wsdl, calling a live gateway:
 * node-soap in this process, Python's zeep (Debian's python3-zeep) through
 * test/soap/zeep_client.py. Every test runs for both clients and both SOAP
 * versions; what a test checks is what the clients sent and got on the wire,
 * and what the gateway stored.
 */

const WSDL = path.join(__dirname, 'soap', 'orders.wsdl');
const ZEEP_CLIENT = path.join(__dirname, 'soap', 'zeep_client.py');
/** Debian's interpreter, which has python3-zeep (test/system-packages.sh); `python3` on PATH may be another. */
const DEBIAN_PYTHON = '/usr/bin/python3';
const ORDERS_NAMESPACE = 'http://example.org/orders';
const MQGATE_NAMESPACE = 'urn:mqgate:soap:1';
const ITEM = 'Grüner Tee — 緑茶 & <Sencha>';

type SoapVersion = '1.1' | '1.2';
type Operation = 'PlaceOrder' | 'GetQuote';

const SOAP: Record<SoapVersion, { mediaType: string; contentType: string; envelope: string; port: string; senderFault: string }> = {
  '1.1': {
    mediaType: 'text/xml',
    contentType: 'text/xml; charset=utf-8',
    envelope: 'http://schemas.xmlsoap.org/soap/envelope/',
    port: 'OrdersSoap11Port',
    senderFault: 'soap:Client',
  },
  '1.2': {
    mediaType: 'application/soap+xml',
    contentType: 'application/soap+xml; charset=utf-8',
    envelope: 'http://www.w3.org/2003/05/soap-envelope',
    port: 'OrdersSoap12Port',
    senderFault: 'env:Sender',
  },
};

/** An operation's action, as the WSDL's bindings give it. */
const actionOf = (operation: Operation): string => `${ORDERS_NAMESPACE}/${operation}`;

/** One HTTP exchange as a client saw it: what it sent, and what it got back. */
interface Exchange {
  sent: { headers: Record<string, string>; body: Buffer };
  received: { status: number; contentType: string | undefined; body: Buffer };
}

/** mqgate's <mq:problem> in a fault's detail: its child elements' text. */
type Problem = Record<string, string>;

/**
 * A fault as the client reported it: `code` the fault code's text (faultcode,
 * or SOAP 1.2's Code/Value), `subcode` SOAP 1.2's Code/Subcode/Value (null in
 * SOAP 1.1) with its namespace resolved, `message` the faultstring (or
 * Reason/Text), `problem` from the detail.
 */
interface Fault {
  code: string;
  subcode: string | null;
  message: string;
  problem: Problem | null;
}

type Outcome = ({ ok: true; result: unknown } | { ok: false; fault: Fault }) & { exchange: Exchange };

interface Call {
  version: SoapVersion;
  address: string;
  operation: Operation;
  args: Record<string, string | number>;
  bearer?: string;
}

/** A SOAP client library: calls one operation and reports the outcome; anything but a success or a SOAP fault throws. */
interface SoapClient {
  name: string;
  /** An xs:decimal in the client's result: node-soap makes it a number, zeep a Decimal (printed as its text). */
  decimal(text: string): unknown;
  call(call: Call): Promise<Outcome>;
}

/** Header names lowercased, values as text. */
function headerRecord(headers: unknown): Record<string, string> {
  // Axios keeps headers in an AxiosHeaders, whose JSON form is the plain object.
  const plain: unknown = JSON.parse(JSON.stringify(headers ?? {}));
  const record: Record<string, string> = {};
  for (const [name, value] of Object.entries(plain as Record<string, unknown>)) record[name.toLowerCase()] = String(value);
  return record;
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null;
}

/** node-soap's parsed element: its text, or an object with the text under `$value`. */
function textOf(value: unknown): string {
  if (typeof value === 'string') return value;
  if (isRecord(value) && typeof value.$value === 'string') return value.$value;
  throw new Error(`no text in ${JSON.stringify(value)}`);
}

/** node-soap's parse of <mq:problem>: its children by local name. */
function problemOf(detail: unknown): Problem | null {
  if (!isRecord(detail) || !isRecord(detail.problem)) return null;
  const problem: Problem = {};
  for (const [name, value] of Object.entries(detail.problem)) if (!name.startsWith('$') && name !== 'attributes') problem[name] = textOf(value);
  return problem;
}

/** A `prefix:local` QName of the fault's envelope in `{namespace}local` form; node-soap keeps only the text, so the prefix is looked up in the raw envelope. */
function resolvedQName(qname: string, envelope: string): string {
  const [prefix, local] = qname.split(':');
  const declared = new RegExp(`xmlns:${prefix}="([^"]*)"`).exec(envelope);
  if (local === undefined || declared === null) throw new Error(`cannot resolve ${qname}`);
  return `{${declared[1]}}${local}`;
}

/** node-soap's fault: the error's `root.Envelope.Body.Fault`, SOAP 1.1 or 1.2 in form. */
function nodeSoapFault(error: unknown, envelope: string): Fault | null {
  if (!(error instanceof Error) || !('root' in error) || !isRecord(error.root) || !isRecord(error.root.Envelope)) return null;
  const body = error.root.Envelope.Body;
  if (!isRecord(body) || !isRecord(body.Fault)) return null;
  const fault = body.Fault;
  if (isRecord(fault.Code)) {
    const subcode = isRecord(fault.Code.Subcode) ? resolvedQName(textOf(fault.Code.Subcode.Value), envelope) : null;
    const message = isRecord(fault.Reason) ? textOf(fault.Reason.Text) : '';
    return { code: textOf(fault.Code.Value), subcode, message, problem: problemOf(fault.Detail) };
  }
  return { code: textOf(fault.faultcode), subcode: null, message: textOf(fault.faultstring), problem: problemOf(fault.detail) };
}

type NodeSoapCallback = (error: unknown, result: unknown) => void;
type NodeSoapMethod = (args: object, callback: NodeSoapCallback) => void;

const nodeSoap: SoapClient = {
  name: 'node-soap',
  decimal: Number,
  async call({ version, address, operation, args, bearer }) {
    const client = await createClientAsync(WSDL, { forceSoap12Headers: version === '1.2' });
    client.setEndpoint(address);
    if (bearer !== undefined) client.addHttpHeader('Authorization', `Bearer ${bearer}`);
    const seen: { received?: Exchange['received'] } = {};
    client.on('response', (_body: unknown, response: unknown) => {
      if (!isRecord(response) || typeof response.status !== 'number' || typeof response.data !== 'string' || !isRecord(response.headers)) return;
      const contentType = response.headers['content-type'];
      // Axios's raw answer, before node-soap trims anything around the envelope.
      seen.received = { status: response.status, contentType: typeof contentType === 'string' ? contentType : undefined, body: Buffer.from(response.data) };
    });
    // The port of the version's binding (node-soap also binds each operation to the client itself: for the last port only).
    const ports = client.OrdersService as Record<string, Record<Operation, NodeSoapMethod>>;
    const method = ports[SOAP[version].port][operation];
    const settled = await new Promise<{ error: unknown } | { result: unknown }>((resolve) => {
      method(args, (error, result) => resolve(error ? { error } : { result }));
    });
    const { received } = seen;
    if (received === undefined) throw 'error' in settled ? settled.error : new Error('node-soap reported no response');
    const exchange: Exchange = {
      sent: { headers: headerRecord(client.lastRequestHeaders), body: Buffer.from(client.lastRequest ?? '') },
      received,
    };
    if ('result' in settled) return { ok: true, result: settled.result, exchange };
    const fault = nodeSoapFault(settled.error, received.body.toString());
    if (fault === null) throw settled.error;
    return { ok: false, fault, exchange };
  },
};

/** What test/soap/zeep_client.py prints. */
interface ZeepOutput {
  ok: boolean;
  result?: unknown;
  fault?: { code: string; message: string; subcodes: string[]; problem: Problem | null };
  exchange: {
    sent: { headers: Record<string, string>; body: string };
    received: { status: number; headers: Record<string, string>; body: string };
  };
}

const execFileAsync = promisify(execFile);

const zeep: SoapClient = {
  name: 'zeep',
  decimal: (text) => text,
  async call({ version, address, operation, args, bearer }) {
    const argv = [ZEEP_CLIENT, WSDL, '--soap', version, '--address', address, '--operation', operation, '--args', JSON.stringify(args)];
    if (bearer !== undefined) argv.push('--bearer', bearer);
    const { stdout } = await execFileAsync(DEBIAN_PYTHON, argv, { timeout: 30_000 }).catch((error: { stderr?: string; message: string }) => {
      throw new Error(`zeep_client.py failed: ${error.message}\n${error.stderr ?? ''}`);
    });
    const output = JSON.parse(stdout) as ZeepOutput;
    const { sent, received } = output.exchange;
    const exchange: Exchange = {
      sent: { headers: headerRecord(sent.headers), body: Buffer.from(sent.body, 'base64') },
      received: { status: received.status, contentType: received.headers['content-type'], body: Buffer.from(received.body, 'base64') },
    };
    if (output.ok) return { ok: true, result: output.result ?? null, exchange };
    const fault = output.fault;
    if (fault === undefined) throw new Error(`zeep_client.py printed neither a result nor a fault: ${stdout}`);
    return { ok: false, fault: { code: fault.code, subcode: fault.subcodes[0] ?? null, message: fault.message, problem: fault.problem }, exchange };
  },
};

/** A gateway on a real port, with its own clock (ManualClock): nothing here waits on time passing. */
interface LiveGateway {
  t: TestGateway;
  url: string;
}

const running: Array<{ server: Server; t: TestGateway }> = [];

async function liveGateway(options: TestGatewayOptions = {}): Promise<LiveGateway> {
  const t = testGateway(options);
  const server = t.app.listen(0, '127.0.0.1');
  running.push({ server, t });
  await new Promise<void>((resolve, reject) => server.once('listening', resolve).once('error', reject));
  return { t, url: `http://127.0.0.1:${(server.address() as AddressInfo).port}` };
}

afterEach(async () => {
  for (const { server, t } of running.splice(0)) {
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
    await disposeTestGateway(t);
    expect(t.backgroundErrors).toEqual([]);
    expect(t.internalErrors).toEqual([]);
  }
});

function key(scopes: string[]): { token: string; record: ApiKey } {
  const { key: token, id, hash } = generateKey();
  const [record] = checkKeys({ keys: [{ id, name: 'soap-client', hash, scopes, limits: {} }] }, 'soap-client');
  return { token, record };
}

/** A fetched message, as the fetch answer has it. */
interface Fetched {
  receipt: string;
  value: string;
  valueEncoding: 'text' | 'base64' | 'json';
  contentType: string;
  headers: Record<string, string>;
}

/** A fetched envelope's bytes (text, or base64 were it not UTF-8); an envelope is never JSON. */
function bytesOf(message: Fetched): Buffer {
  if (message.valueEncoding === 'json') throw new Error(`an envelope came back as JSON: ${message.contentType}`);
  return Buffer.from(message.value, message.valueEncoding === 'base64' ? 'base64' : 'utf8');
}

async function putQueue(t: TestGateway, queue: string, bearer?: string): Promise<void> {
  const put = t.http.put(`/v1/queues/${queue}`);
  if (bearer !== undefined) put.set('Authorization', `Bearer ${bearer}`);
  expect((await put.send({})).status).toBe(201);
}

/** Everything in the queue now (no waiting: the gateway's clock stands still). */
async function fetchAll(t: TestGateway, queue: string, bearer?: string): Promise<Fetched[]> {
  const fetch = t.http.post(`/v1/queues/${queue}/fetch`);
  if (bearer !== undefined) fetch.set('Authorization', `Bearer ${bearer}`);
  const res = await fetch.send({ max: 10, waitMs: 0 });
  expect(res.status).toBe(200);
  return (res.body as { messages: Fetched[] }).messages;
}

/** The envelope a consumer answers GetQuote with: the WSDL's output element, in the request's SOAP version. */
function quoteEnvelope(version: SoapVersion, item: string, quantity: number): string {
  const escaped = item.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
  return (
    `<?xml version="1.0" encoding="utf-8"?>\n` +
    `<s:Envelope xmlns:s="${SOAP[version].envelope}"><s:Body>` +
    `<o:Quote xmlns:o="${ORDERS_NAMESPACE}"><o:item>${escaped}</o:item><o:quantity>${quantity}</o:quantity>` +
    `<o:unitPrice>4.25</o:unitPrice><o:currency>EUR</o:currency></o:Quote>` +
    `</s:Body></s:Envelope>`
  );
}

/** The text of a request envelope's element `name` (its first), prefixed or in a default namespace: the consumer's reading of a request. */
function fieldOf(envelope: string, name: string): string {
  const match = new RegExp(`<(\\w+:)?${name}(\\s[^>]*)?>([^<]*)</\\1?${name}>`).exec(envelope);
  if (match === null) throw new Error(`no ${name} in ${envelope}`);
  return match[3].replace(/&lt;/g, '<').replace(/&gt;/g, '>').replace(/&amp;/g, '&');
}

/** A promise's outcome, kept so the test can look at it (or await it) later without an unhandled rejection. */
function watched<T>(promise: Promise<T>): { done: () => boolean; outcome: () => Promise<T> } {
  let done = false;
  const settled = promise.then(
    (value) => ({ value }),
    (error: unknown) => ({ error }),
  );
  void settled.then(() => (done = true));
  return {
    done: () => done,
    outcome: async () => {
      const result = await settled;
      if ('error' in result) throw result.error;
      return result.value;
    },
  };
}

function expectSuccess(outcome: Outcome): unknown {
  if (!outcome.ok) throw new Error(`expected success, got the fault ${JSON.stringify(outcome.fault)}`);
  return outcome.result;
}

/** A fault of the caller's version for a caller's error (Client/Sender), HTTP 500 with the version's content type, carrying mqgate's code. */
function expectSenderFault(outcome: Outcome, version: SoapVersion, code: string, status: number): void {
  if (outcome.ok) throw new Error(`expected the fault ${code}, got success with ${JSON.stringify(outcome.result)}`);
  expect(outcome.exchange.received.status).toBe(500);
  expect(outcome.exchange.received.contentType).toBe(SOAP[version].contentType);
  expect(outcome.fault).toEqual({
    code: SOAP[version].senderFault,
    subcode: version === '1.2' ? `{${MQGATE_NAMESPACE}}${code}` : null,
    message: expect.any(String),
    problem: { code, status: String(status), title: expect.any(String), detail: expect.any(String) },
  });
  const { title, detail } = outcome.fault.problem ?? {};
  expect(outcome.fault.message).toBe(`${title}: ${detail}`);
}

/** The request as the client sent it: the version's media type, the operation's action in the header (1.1) or content type (1.2). */
function expectSentAs(outcome: Outcome, version: SoapVersion, operation: Operation): void {
  const { headers, body } = outcome.exchange.sent;
  const contentType = parseContentType(headers['content-type']);
  expect(contentType.type).toBe(SOAP[version].mediaType);
  if (version === '1.1') expect(headers.soapaction).toBe(`"${actionOf(operation)}"`);
  else expect(contentType.parameters.action).toBe(actionOf(operation));
  expect(body.toString()).toContain(SOAP[version].envelope);
}

/** The message the gateway stored for a client's request: its bytes, content type and action as the client sent them. */
function expectStoredAsSent(message: Fetched, outcome: Outcome, operation: Operation): void {
  expect(bytesOf(message).equals(outcome.exchange.sent.body)).toBe(true);
  expect(message.contentType).toBe(outcome.exchange.sent.headers['content-type']);
  expect(message.headers.SOAPAction).toBe(`"${actionOf(operation)}"`);
}

const CLIENTS: SoapClient[] = [nodeSoap, zeep];
const VERSIONS: SoapVersion[] = ['1.1', '1.2'];
const ORDER = { orderId: 'o-4711', item: ITEM, quantity: 3 };

describe.each(CLIENTS)('$name', (client) => {
  describe.each(VERSIONS)('SOAP %s', (version) => {
    test('one-way PlaceOrder: the call succeeds on 202 with no body, and the queue holds the envelope it sent', async () => {
      const { t, url } = await liveGateway();
      await putQueue(t, 'orders');
      const outcome = await client.call({ version, address: `${url}/v1/queues/orders/messages`, operation: 'PlaceOrder', args: ORDER });
      expect(expectSuccess(outcome)).toBeNull();
      expect(outcome.exchange.received).toMatchObject({ status: 202, body: Buffer.alloc(0) });
      expectSentAs(outcome, version, 'PlaceOrder');
      expect(fieldOf(outcome.exchange.sent.body.toString(), 'item')).toBe(ITEM);
      const messages = await fetchAll(t, 'orders');
      expect(messages).toHaveLength(1);
      expectStoredAsSent(messages[0], outcome, 'PlaceOrder');
    });

    test('request–response GetQuote: a consumer answers through request–reply, the caller gets its envelope unchanged and the client its result', async () => {
      const { t, url } = await liveGateway();
      await putQueue(t, 'quotes');
      const calling = watched(
        client.call({ version, address: `${url}/v1/queues/quotes/requests?timeoutMs=60000`, operation: 'GetQuote', args: { item: ITEM, quantity: 3 } }),
      );
      // The request is in the queue once its caller waits (or the client is done early, which `outcome` reports).
      await until(() => t.replies.waiting === 1 || calling.done());
      if (calling.done()) throw new Error(`the client ended before a reply: ${JSON.stringify(await calling.outcome())}`);

      const [request] = await fetchAll(t, 'quotes');
      expect(parseContentType(request.contentType).type).toBe(SOAP[version].mediaType);
      expect(request.headers).toMatchObject({
        SOAPAction: `"${actionOf('GetQuote')}"`,
        'mqgate-reply-to': expect.stringMatching(/^\/v1\/queues\/quotes\/replies\/[0-9a-f-]{36}$/),
        'mqgate-correlation-id': expect.any(String),
      });
      const envelope = bytesOf(request).toString();
      const reply = quoteEnvelope(version, fieldOf(envelope, 'item'), Number(fieldOf(envelope, 'quantity')));
      const replied = await t.http.post(request.headers['mqgate-reply-to']).set('Content-Type', SOAP[version].contentType).send(Buffer.from(reply));
      expect(replied.status).toBe(204);
      expect((await t.http.post('/v1/queues/quotes/ack').send({ receipts: [request.receipt] })).status).toBe(200);

      const outcome = await calling.outcome();
      expect(expectSuccess(outcome)).toEqual({ item: ITEM, quantity: 3, unitPrice: client.decimal('4.25'), currency: 'EUR' });
      expect(outcome.exchange.received).toEqual({ status: 200, contentType: SOAP[version].contentType, body: Buffer.from(reply) });
      expectSentAs(outcome, version, 'GetQuote');
      expectStoredAsSent(request, outcome, 'GetQuote');
      expect(t.replies.waiting).toBe(0);
    });

    test('a missing queue: both operations get a fault of the caller\'s version with code queue_not_found', async () => {
      const { t, url } = await liveGateway();
      for (const [operation, address] of [
        ['PlaceOrder', `${url}/v1/queues/nowhere/messages`],
        ['GetQuote', `${url}/v1/queues/nowhere/requests?timeoutMs=60000`],
      ] as const) {
        const outcome = await client.call({ version, address, operation, args: operation === 'PlaceOrder' ? ORDER : { item: ITEM, quantity: 1 } });
        expectSenderFault(outcome, version, 'queue_not_found', 404);
        expectSentAs(outcome, version, operation);
      }
      expect(t.replies.waiting).toBe(0);
    });

    test('with keys: a bad key gets the fault unauthorized and nothing is stored; the right key is stored', async () => {
      const producer = key(['*:*']);
      const { t, url } = await liveGateway({ keys: [producer.record] });
      await putQueue(t, 'orders', producer.token);
      const address = `${url}/v1/queues/orders/messages`;
      const refused = await client.call({ version, address, operation: 'PlaceOrder', args: ORDER, bearer: 'mqk_not-a-key-of-this-gateway' });
      expectSenderFault(refused, version, 'unauthorized', 401);
      expect(refused.exchange.sent.headers.authorization).toBe('Bearer mqk_not-a-key-of-this-gateway');
      expect(await fetchAll(t, 'orders', producer.token)).toEqual([]);

      const accepted = await client.call({ version, address, operation: 'PlaceOrder', args: ORDER, bearer: producer.token });
      expect(expectSuccess(accepted)).toBeNull();
      expect(accepted.exchange.received.status).toBe(202);
      const messages = await fetchAll(t, 'orders', producer.token);
      expect(messages).toHaveLength(1);
      expectStoredAsSent(messages[0], accepted, 'PlaceOrder');
    });
  });

  test('SOAP 1.2 through a push subscription: the receiver gets the envelope byte for byte, content type and action as sent', async () => {
    const { t, url } = await liveGateway();
    const receiver = await startReceiver(() => t.clock.now());
    try {
      await putQueue(t, 'orders');
      const pushed = await t.http.put('/v1/push-subscriptions/shipping').send({ source: { queue: 'orders' }, url: `${receiver.url}/orders` });
      expect(pushed.status).toBe(201);
      const outcome = await client.call({ version: '1.2', address: `${url}/v1/queues/orders/messages`, operation: 'PlaceOrder', args: ORDER });
      expect(expectSuccess(outcome)).toBeNull();
      expectSentAs(outcome, '1.2', 'PlaceOrder');
      await eventually(() => receiver.received.length === 1);
      const [delivered] = receiver.received;
      expect(delivered.body.equals(outcome.exchange.sent.body)).toBe(true);
      expect(delivered.headers['content-type']).toBe(outcome.exchange.sent.headers['content-type']);
      expect(parseContentType(delivered.headers['content-type'] ?? '').parameters.action).toBe(actionOf('PlaceOrder'));
      // Delivered is acked: once the push has recorded it, the queue is empty.
      const acked = async () => ((await t.http.get('/v1/queues/orders')).body as { stats: { acked: number } }).stats.acked === 1;
      await polled(acked);
      expect(await acked()).toBe(true);
    } finally {
      // The receiver first: a request it holds would hold the gateway's shutdown.
      await receiver.close();
    }
  });
});
