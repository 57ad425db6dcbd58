import fc from 'fast-check';
import type { Spec } from '../../api/spec';
import { DatabaseWatch, type Fingerprint } from './fuzzDatabase';
import { FIXTURE_NAMES, FUZZ_LIMITS, type FuzzTarget } from './fuzzGateway';
import { mqgateHints } from './fuzzHints';
import { type MutationContext, mutatedRequest } from './fuzzMutations';
import { type Finding, preview, type RouteMatch } from './fuzzOracle';
import { type FuzzRequest, takesBearer, validRequest, type WireRequest, wire } from './fuzzRequests';
import { SchemaArbitraries } from './fuzzSchema';
import { type Exchange, send } from './fuzzTransport';

/**
 * The fuzz run: one request per fast-check run, each derived from an
 * operation of openapi.yaml (valid-shaped, or mutated), sent to the gateway,
 * and checked. Violations are collected, not thrown, so one run finds every
 * kind of bug and not just the first; the test fails on them at the end.
 */

export interface CampaignOptions {
  seed: number;
  runs: number;
  /** Fixtures are made again this often (requests delete them, and the database stays small). */
  rebuildEvery: number;
}

export interface OperationStats {
  sent: number;
  validShaped: number;
  succeeded: number;
  /** Statuses of the valid-shaped requests: how often the valid shape reached the operation's logic. */
  validStatuses: Map<number, number>;
  /** Per status, the first detail a valid-shaped request was refused with (for FUZZ_VERBOSE). */
  validRefusals: Map<number, string>;
}

export interface ViolationGroup {
  signature: string;
  count: number;
  /** The smallest request that showed it, and what came back. */
  example: string;
  exampleSize: number;
}

export interface CampaignResult {
  requests: number;
  operations: Map<string, OperationStats>;
  statuses: Map<number, number>;
  serverErrors: number;
  unanswered: number;
  violations: ViolationGroup[];
  aborted: string | null;
  clockMoves: number;
  milliseconds: number;
}

/** Each operation's arbitrary: a quarter valid-shaped, the rest mutated. */
function requestArbitrary(spec: Spec, target: FuzzTarget): fc.Arbitrary<FuzzRequest> {
  const hints = mqgateHints({ fixtureNames: FIXTURE_NAMES, deadTarget: target.deadTarget, clockStart: target.gateway.clock.now(), maxMessageBytes: FUZZ_LIMITS.maxMessageBytes });
  const schemas = new SchemaArbitraries(spec.document.components.schemas, hints);
  const perOperation = spec.operations.map((op) => {
    const context: MutationContext = {
      op,
      pathMethods: spec.operations.filter((o) => o.path === op.path).map((o) => o.method.toUpperCase()),
      limits: FUZZ_LIMITS,
      fixtureNames: FIXTURE_NAMES,
    };
    const valid = validRequest(op, schemas, takesBearer(op, spec.document));
    return fc.oneof({ weight: 1, arbitrary: valid }, { weight: 3, arbitrary: mutatedRequest(valid, context) });
  });
  return fc.oneof(...perOperation);
}

function wireSize(request: WireRequest): number {
  return request.target.length + request.headers.reduce((n, [k, v]) => n + k.length + v.length, 0) + (request.body?.length ?? 0);
}

function clip(text: string, max = 240): string {
  return text.length <= max ? text : `${text.slice(0, max - 60)}…(${text.length} chars)…${text.slice(-40)}`;
}

function bodyText(body: Buffer | null): string {
  if (body === null) return 'none';
  const head = body.subarray(0, 240);
  const text = head.toString('utf8');
  const printable = Buffer.from(text, 'utf8').equals(head) && !/[\u0000-\u0008\u000e-\u001f]/.test(text);
  return `${body.length} bytes ${printable ? JSON.stringify(clip(body.toString('utf8'))) : `hex ${head.subarray(0, 64).toString('hex')}`}`;
}

/** A reproduction: what was sent, how, and what came back. */
function describe(request: WireRequest, exchange: Exchange): string {
  const { framing } = request;
  const how = framing.kind === 'http' ? `node:http (${exchange.transport})` : `raw socket, ${JSON.stringify(framing, (_k, v: unknown) => (v instanceof Uint8Array ? Buffer.from(v).toString('hex') : v))}`;
  const answers = exchange.responses.map((r) => `${r.status} ${r.headers['content-type'] ?? '(no content-type)'} ${preview(r.body, 200)}`);
  return [
    `${request.method} ${clip(request.target)}`,
    `  headers: ${request.headers.map(([k, v]) => `${k}: ${clip(v, 80)}`).join(' | ') || 'none'}`,
    `  body: ${bodyText(request.body)}`,
    `  sent as: ${how}; derived from ${request.operationId} with [${request.mutations.join(', ')}]`,
    `  answer: ${answers.join(' ; ') || `none (${exchange.hung ? 'timed out' : exchange.cutByClient ? 'cut by the test while the gateway waited for more bytes' : (exchange.error ?? 'closed')})`}`,
  ].join('\n');
}

class Campaign {
  readonly result: CampaignResult = {
    requests: 0,
    operations: new Map(),
    statuses: new Map(),
    serverErrors: 0,
    unanswered: 0,
    violations: [],
    aborted: null,
    clockMoves: 0,
    milliseconds: 0,
  };
  private readonly groups = new Map<string, ViolationGroup>();

  constructor(
    private readonly target: FuzzTarget,
    private readonly spec: Spec,
    private readonly options: CampaignOptions,
  ) {
    for (const op of spec.operations) this.result.operations.set(op.operation.operationId, { sent: 0, validShaped: 0, succeeded: 0, validStatuses: new Map(), validRefusals: new Map() });
  }

  async run(): Promise<CampaignResult> {
    const started = Date.now();
    await this.target.rebuildFixtures();
    const property = fc.asyncProperty(requestArbitrary(this.spec, this.target), (request) => this.one(request));
    try {
      await fc.assert(property, { seed: this.options.seed, numRuns: this.options.runs, endOnFailure: true });
    } catch (error) {
      // Only the gateway going silent, or a fault of the test itself, ends the run early. fast-check's
      // message has the seed and path to replay; the cause's stack says what stopped it.
      const cause = error instanceof Error && error.cause instanceof Error ? `\ncause: ${error.cause.stack ?? String(error.cause)}` : '';
      this.result.aborted = `${String(error).split('\nCounterexample')[0]}${cause}`;
    }
    this.result.violations = [...this.groups.values()].sort((a, b) => b.count - a.count);
    this.result.clockMoves = this.target.clockMoves;
    this.result.milliseconds = Date.now() - started;
    return this.result;
  }

  /** Sends one request and checks everything about its outcome. Throws only when the gateway stopped answering. */
  private async one(request: FuzzRequest): Promise<void> {
    const { target } = this;
    const wired = wire(request, target.live.resolver());
    const before = await target.db.fingerprint();
    const reported = { internal: target.gateway.internalErrors.length, background: target.gateway.backgroundErrors.length };
    const exchange = await send(wired, target.transportOptions());
    const settled = await target.quiet();
    // What node's HTTP parser refused never reached a route: no operation's documented statuses apply.
    const route = exchange.reachedApp ? target.oracle.match(wired.method, wired.target) : null;
    const findings = [...this.answerFindings(wired, exchange, route), ...(await this.outcomeFindings(wired, exchange, before)), ...this.reportedFindings(reported)];
    if (!settled) findings.push({ kind: 'the gateway still works on a request whose connection is gone', detail: '' });
    this.count(request, exchange);
    this.learn(route, exchange);
    // Only after the check: a push subscription this request started or resumed must not write while the next one is checked.
    if ((await target.db.version()) !== before.version) {
      for (const problem of await target.pauseRunningPushes()) findings.push({ kind: 'pausing the push subscription this request started did not answer', detail: problem });
    }
    const health = exchange.transport === 'raw' || exchange.responses.length === 0 || this.result.requests % 200 === 0 ? await target.health() : null;
    if (health !== null) findings.push({ kind: 'the gateway stopped answering /healthz', detail: health });
    for (const finding of findings) this.record(finding, wired, exchange, route);
    if (health !== null) throw new Error(`the gateway stopped answering after request ${this.result.requests}: ${health}`);
    if (this.result.requests % this.options.rebuildEvery === 0) await target.rebuildFixtures();
  }

  /** Each answer against the spec. Answers after the first are to bytes past the request (pipelined garbage): no route's. */
  private answerFindings(request: WireRequest, exchange: Exchange, route: RouteMatch | null): Finding[] {
    return exchange.responses.flatMap((response, i) => this.target.oracle.check(request, i === 0 ? route : null, response));
  }

  /** What the gateway reported while it handled the request: internal errors (5xx) and failed background work. */
  private reportedFindings(before: { internal: number; background: number }): Finding[] {
    const { internalErrors, backgroundErrors } = this.target.gateway;
    return [
      ...internalErrors.slice(before.internal).map((e): Finding => ({
        kind: 'internal error reported',
        detail: `${e.code}: ${e.message}${e.cause === undefined ? '' : ` (${String(e.cause)})`}`,
        about: 'operation',
      })),
      ...backgroundErrors.slice(before.background).map((e): Finding => ({ kind: 'background error reported', detail: String(e) })),
    ];
  }

  /** Rejected or unanswered: nothing may have changed. Unanswered without the test cutting it: a dropped request. */
  private async outcomeFindings(wired: WireRequest, exchange: Exchange, before: Fingerprint): Promise<Finding[]> {
    const findings: Finding[] = [];
    // Headers over node's 16 KiB are refused before the body is read: a client still writing may see the
    // connection close before it reads the 431 (the server answered; TCP raced). Nothing else may go unanswered.
    const oversized = wired.headers.some(([name, value]) => name.length + value.length > 16 * 1024);
    if (exchange.hung) findings.push({ kind: 'no answer within the deadline', detail: '' });
    else if (exchange.responses.length === 0 && !exchange.cutByClient && !oversized) {
      findings.push({ kind: 'connection closed without an answer', detail: exchange.error ?? '' });
    }
    if (exchange.garbage > 0) findings.push({ kind: 'bytes that are not an HTTP response', detail: `${exchange.garbage} bytes` });
    if (!exchange.responses.some((r) => r.status < 300 || this.target.oracle.storedAnyway(r))) {
      const changed = DatabaseWatch.changed(before, await this.target.db.fingerprint());
      const bare = exchange.responses.length > 0 && exchange.responses.every((r) => r.headers['content-type'] === undefined);
      const how = exchange.responses.length === 0 ? 'an unanswered request' : bare ? "a request node's HTTP layer answered with a bare 4xx" : 'a rejected request';
      if (changed.length > 0) findings.push({ kind: `data changed by ${how}`, detail: `tables ${changed.join(', ')}` });
    }
    return findings;
  }

  private count(request: FuzzRequest, exchange: Exchange): void {
    const { result } = this;
    result.requests += 1;
    const stats = result.operations.get(request.operationId);
    if (stats !== undefined) {
      stats.sent += 1;
      if (request.mutations.length === 0) {
        stats.validShaped += 1;
        for (const { status, body } of exchange.responses) {
          stats.validStatuses.set(status, (stats.validStatuses.get(status) ?? 0) + 1);
          if (status >= 400 && !stats.validRefusals.has(status)) stats.validRefusals.set(status, body.toString('utf8').slice(0, 300));
        }
      }
      if (exchange.responses.some((r) => r.status >= 200 && r.status < 300)) stats.succeeded += 1;
    }
    if (exchange.responses.length === 0) result.unanswered += 1;
    for (const { status } of exchange.responses) {
      result.statuses.set(status, (result.statuses.get(status) ?? 0) + 1);
      if (status >= 500) result.serverErrors += 1;
    }
  }

  private learn(route: RouteMatch | null, exchange: Exchange): void {
    if (route === null) return;
    for (const response of exchange.responses) {
      if (response.status >= 300) continue;
      let body: unknown = null;
      try {
        body = JSON.parse(response.body.toString('utf8'));
      } catch {
        body = null;
      }
      this.target.live.learn(route.op.operation.operationId, route.params, response.status, body);
    }
  }

  /** Groups findings by what went wrong and where; keeps the smallest example of each. */
  private record(finding: Finding, request: WireRequest, exchange: Exchange, route: RouteMatch | null): void {
    const framing = request.framing.kind === 'http' ? (route?.op.operation.operationId ?? 'no route') : `raw ${request.framing.kind}`;
    const where = finding.kind.startsWith('bare ')
      ? (exchange.reachedApp ? `after reaching the app, raw ${request.framing.kind}` : 'refused before reaching the app')
      : finding.about === 'operation'
        ? (route?.op.operation.operationId ?? framing)
        : framing;
    const signature = `${finding.kind} [${where}]`;
    const size = wireSize(request);
    const group = this.groups.get(signature);
    const example = `${describe(request, exchange)}${finding.detail === '' ? '' : `\n  why: ${clip(finding.detail, 600)}`}`;
    if (group === undefined) this.groups.set(signature, { signature, count: 1, example, exampleSize: size });
    else {
      group.count += 1;
      if (size < group.exampleSize) Object.assign(group, { example, exampleSize: size });
    }
  }
}

export function runCampaign(target: FuzzTarget, spec: Spec, options: CampaignOptions): Promise<CampaignResult> {
  return new Campaign(target, spec, options).run();
}
