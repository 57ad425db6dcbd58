import type { CredentialForgery, Forgery, Resolver, Role } from './fuzzJson';

interface Member {
  topic: string;
  group: string;
  memberId: string;
  generation: number;
}

interface Receipt {
  /** `queue/<name>` or `subscription/<topic>/<name>`. */
  source: string;
  receipt: string;
  /** The delivery it names, as the fetch showed it. */
  messageId: string;
  deliveryCount: number;
}

/** Most receipts and members remembered: enough for variety, old ones age out (and become forgeries of a kind). */
const REMEMBERED = 200;

/** What a request resolved so far: the names its path chose, so later values are chosen among theirs. */
interface Scope {
  queue?: string;
  topic?: string;
  group?: string;
  subscription?: string;
  member?: Member;
}

function pickFrom<T>(items: T[], pick: number): T | undefined {
  return items.length === 0 ? undefined : items[pick % items.length];
}

function remember<T>(list: T[], item: T): void {
  list.push(item);
  if (list.length > REMEMBERED) list.shift();
}

/** A receipt of the old, unsigned format (base64url of `subscription.message.count`): what a guess looks like. */
function unsigned(subscriptionId: number, messageId: string, deliveryCount: number): string {
  return Buffer.from(`${subscriptionId}.${messageId}.${deliveryCount}`).toString('base64url');
}

/** One character changed: the receipt's signature no longer matches what it names. */
function altered(receipt: string): string {
  return `${receipt.startsWith('A') ? 'B' : 'A'}${receipt.slice(1)}`;
}

/**
 * Receipts are signed, so the test cannot name a delivery it was not given.
 * A forgery of another delivery is a real receipt of that delivery, handed
 * out earlier (stale, or of another message or source: the store's fencing
 * answers); with none remembered, the receipt altered (the signature check
 * answers).
 */
function forge(chosen: Receipt, remembered: Receipt[], forgery: Forgery): string {
  const { receipt } = chosen;
  const sameMessage = (r: Receipt): boolean => r.source === chosen.source && r.messageId === chosen.messageId;
  const other = (matches: (r: Receipt) => boolean): string => remembered.find(matches)?.receipt ?? altered(receipt);
  switch (forgery) {
    case 'none':
      return receipt;
    case 'nextDelivery':
      return other((r) => sameMessage(r) && r.deliveryCount > chosen.deliveryCount);
    case 'previousDelivery':
      return other((r) => sameMessage(r) && r.deliveryCount < chosen.deliveryCount);
    case 'otherMessage':
      return other((r) => r.source === chosen.source && r.messageId !== chosen.messageId);
    case 'otherSubscription':
      return other((r) => r.source !== chosen.source);
    case 'truncated':
      return receipt.slice(0, -1) || 'x';
    case 'swapCase':
      return [...receipt].map((c) => (c === c.toLowerCase() ? c.toUpperCase() : c.toLowerCase())).join('');
    case 'padded':
      return `${receipt}==`;
    case 'maxDigits':
      return unsigned(999_999_999_999_999, '999999999999999', 999_999_999);
    case 'notBase64':
      return `${receipt}!`;
  }
}

/**
 * The gateway's resources as the test knows them: fixtures, what valid
 * requests created, the receipts and members handed out. Live markers in
 * generated requests resolve against it, so valid-shaped requests reach
 * existing resources and real leases.
 */
export class LiveState {
  readonly queues = new Set<string>();
  readonly topics = new Set<string>();
  readonly groups: Array<{ topic: string; group: string }> = [];
  readonly subscriptions: Array<{ topic: string; subscription: string }> = [];
  readonly pushes = new Set<string>();
  readonly members: Member[] = [];
  readonly receipts: Receipt[] = [];

  constructor(
    private readonly fallbackNames: string[],
    /** The gateway's API keys: one with every scope, one with a few. */
    private readonly keys: { admin: string; narrow: string },
  ) {}

  /** The Authorization header of the key with every scope: what the test's own requests send. */
  get adminAuthorization(): string {
    return `Bearer ${this.keys.admin}`;
  }

  /** Forgets the resources (not receipts and members: stale ones make good forgeries). */
  resetResources(): void {
    this.queues.clear();
    this.topics.clear();
    this.groups.length = 0;
    this.subscriptions.length = 0;
    this.pushes.clear();
  }

  /** A resolver for one request. */
  resolver(): Resolver {
    const scope: Scope = {};
    return {
      name: (role, pick) => this.name(scope, role, pick),
      receipt: (pick, forgery) => forge(this.receipt(scope, pick), this.receipts, forgery),
      generation: (pick, offBy) => ((scope.member ?? pickFrom(this.members, pick))?.generation ?? 0) + offBy,
      credential: (_pick, forgery) => this.credential(forgery),
    };
  }

  /** Keys are `mqg_<12 hex id>_<43 chars>`: the forgeries keep the shape and break the id, the secret or the scheme. */
  private credential(forgery: CredentialForgery): string {
    const { admin, narrow } = this.keys;
    switch (forgery) {
      case 'none':
        return `Bearer ${admin}`;
      case 'narrow':
        return `Bearer ${narrow}`;
      case 'lowercaseScheme':
        return `bearer ${admin}`;
      case 'truncated':
        return `Bearer ${admin.slice(0, -1)}`;
      case 'otherSecret':
        return `Bearer ${admin.slice(0, 17)}${'A'.repeat(admin.length - 17)}`;
      case 'unknownId':
        return `Bearer mqg_000000000000_${admin.slice(17)}`;
      case 'extraToken':
        return `Bearer ${admin} ${narrow}`;
      case 'noScheme':
        return admin;
      case 'basic':
        return `Basic ${Buffer.from(`admin:${admin}`).toString('base64')}`;
      case 'empty':
        return 'Bearer ';
    }
  }

  private name(scope: Scope, role: Role, pick: number): string {
    const name = this.candidates(scope, role, pick) ?? this.fallbackNames[pick % this.fallbackNames.length];
    if (role === 'queue') scope.queue = name;
    if (role === 'topic') scope.topic = name;
    if (role === 'group') scope.group = name;
    if (role === 'subscription') scope.subscription = name;
    return name;
  }

  private candidates(scope: Scope, role: Role, pick: number): string | undefined {
    const ofTopic = <T extends { topic: string }>(items: T[]): T[] => {
      const own = items.filter((item) => item.topic === scope.topic);
      return own.length > 0 ? own : items;
    };
    switch (role) {
      case 'queue':
        return pickFrom([...this.queues], pick);
      case 'topic':
        return pickFrom([...this.topics], pick);
      case 'group':
        return pickFrom(ofTopic(this.groups), pick)?.group;
      case 'subscription':
        return pickFrom(ofTopic(this.subscriptions), pick)?.subscription;
      case 'push':
        return pickFrom([...this.pushes], pick);
      case 'memberId': {
        const own = this.members.filter((m) => m.topic === scope.topic && m.group === scope.group);
        scope.member = pickFrom(own.length > 0 ? own : this.members, pick);
        return scope.member?.memberId;
      }
      case 'any':
        return pickFrom([...this.queues, ...this.topics, ...this.groups.map((g) => g.group), ...this.subscriptions.map((s) => s.subscription), ...this.pushes], pick);
    }
  }

  /** Mostly a receipt of the source the request names, sometimes one of another; before any, a guessed one. */
  private receipt(scope: Scope, pick: number): Receipt {
    const source = scope.subscription !== undefined ? `subscription/${scope.topic}/${scope.subscription}` : `queue/${scope.queue}`;
    const own = this.receipts.filter((r) => r.source === source);
    const chosen = pick % 4 !== 0 && own.length > 0 ? pickFrom(own, pick) : pickFrom(this.receipts, pick);
    const messageId = String(pick % 1000);
    return chosen ?? { source, receipt: unsigned(1, messageId, 1), messageId, deliveryCount: 1 };
  }

  private rememberGroup(topic: string, group: string): void {
    if (!this.groups.some((g) => g.topic === topic && g.group === group)) this.groups.push({ topic, group });
  }

  /**
   * Learns from a successful answer: what it created or deleted, the receipts
   * and members it handed out. Keyed by operationId: an operation the test
   * does not know teaches nothing.
   */
  learn(operationId: string, params: Record<string, string | null>, status: number, body: unknown): void {
    const { queue, topic, group, subscription, push, memberId } = params;
    const created = status === 200 || status === 201;
    const deleted = status === 204;
    switch (operationId) {
      case 'putQueue':
        if (created && queue) this.queues.add(queue);
        break;
      case 'deleteQueue':
        if (deleted && queue) this.queues.delete(queue);
        break;
      case 'putTopic':
        if (created && topic) this.topics.add(topic);
        break;
      case 'deleteTopic':
        if (deleted && topic) this.topics.delete(topic);
        break;
      case 'putGroup':
      case 'fetchGroup':
        if (created && topic && group) this.rememberGroup(topic, group);
        this.learnGeneration(topic, group, body);
        break;
      case 'joinGroup':
        if (created && topic && group) {
          this.rememberGroup(topic, group);
          this.learnMember(topic, group, body);
        }
        break;
      case 'commitGroup':
        this.learnGeneration(topic, group, body);
        break;
      case 'leaveGroup':
        if (deleted) this.members.splice(0, this.members.length, ...this.members.filter((m) => m.memberId !== memberId));
        break;
      case 'putSubscription':
        if (created && topic && subscription && !this.subscriptions.some((s) => s.topic === topic && s.subscription === subscription)) {
          this.subscriptions.push({ topic, subscription });
        }
        break;
      case 'putPushSubscription':
        if (created && push) this.pushes.add(push);
        break;
      case 'deletePushSubscription':
        if (deleted && push) this.pushes.delete(push);
        break;
      case 'fetchMessages':
        if (queue) this.learnReceipts(`queue/${queue}`, body);
        break;
      case 'fetchSubscription':
        if (topic && subscription) this.learnReceipts(`subscription/${topic}/${subscription}`, body);
        break;
      default:
        break;
    }
  }

  private learnReceipts(source: string, body: unknown): void {
    const messages = (body as { messages?: Array<{ receipt?: unknown; id?: unknown; deliveryCount?: unknown }> } | null)?.messages;
    if (!Array.isArray(messages)) return;
    for (const { receipt, id, deliveryCount } of messages) {
      if (typeof receipt === 'string' && typeof id === 'string' && typeof deliveryCount === 'number') {
        remember(this.receipts, { source, receipt, messageId: id, deliveryCount });
      }
    }
  }

  private learnMember(topic: string, group: string, body: unknown): void {
    const { memberId, generation } = (body ?? {}) as { memberId?: unknown; generation?: unknown };
    if (typeof memberId === 'string' && typeof generation === 'number') remember(this.members, { topic, group, memberId, generation });
    this.learnGeneration(topic, group, body);
  }

  /** Every join and leave starts a generation: members of the group learn the current one. */
  private learnGeneration(topic: string | null, group: string | null, body: unknown): void {
    const generation = (body as { generation?: unknown } | null)?.generation;
    if (typeof generation !== 'number') return;
    for (const member of this.members) if (member.topic === topic && member.group === group) member.generation = generation;
  }
}
