import type {
  GroupStore,
  Listed,
  PushBackoff,
  PushCounters,
  PushRecord,
  PushSettings,
  PushSource,
  PushStore,
  QueueStore,
  SubscriptionStore,
} from '../../persistence/store';
import type { Clock } from '../clock';
import { GatewayError, invalidField } from '../errors';
import { DEFAULT_GROUP_SETTINGS } from '../groupService';
import { type ListRequest, viewPage, visiblePage } from '../pages';
import type { PushDispatcher } from './dispatcher';
import { checkTarget, type TargetPolicy } from './targets';

/** A PUT body: the source, settings (missing ones take their defaults) and the signing secret. */
export type PushInput = Partial<Omit<PushSettings, 'backoff'>> & {
  source: PushSource;
  url: string;
  backoff?: Partial<PushBackoff>;
  /** Omitted: the current secret stays (none for a new subscription); null: deliveries are no longer signed. */
  secret?: string | null;
};

export interface PushStatus extends PushCounters {
  state: 'running' | 'paused';
  /** Messages waiting for delivery: ready and delayed ones of a queue subscription, the lag of a group. */
  backlog: number;
  /** Messages this gateway holds: attempts in progress, waits before a retry, messages behind their key or claimed ahead. */
  inFlight: number;
}

/** A push subscription as the API shows it: never the secret, only whether there is one. */
export type PushView = Omit<PushRecord, 'secret' | 'counters'> & { signed: boolean; status: PushStatus };

const DEFAULT_PUSH_SETTINGS: Omit<PushSettings, 'url'> = {
  method: 'POST',
  headers: {},
  timeoutMs: 10_000,
  concurrency: 8,
  maxAttempts: 10,
  backoff: { initialMs: 1000, maxMs: 60_000, multiplier: 2, jitter: 0.2 },
  ordering: 'unordered',
  deadLetterQueue: null,
  retryClientErrors: false,
};

/**
 * Push subscriptions: settings in the store, delivery by the dispatcher.
 * Every change is followed by a sync, so the runner always has the current
 * settings.
 */
export class PushService {
  constructor(
    private readonly store: PushStore & Pick<GroupStore, 'describeGroup'> & Pick<QueueStore, 'queueStats'> & Pick<SubscriptionStore, 'subscriptionStats'>,
    private readonly clock: Clock,
    private readonly dispatcher: PushDispatcher,
    private readonly targets: TargetPolicy,
  ) {}

  /** operation: putPushSubscription */
  async put(name: string, input: PushInput): Promise<{ push: PushView; created: boolean }> {
    const { source, secret, backoff, ...given } = input;
    checkTarget(input.url, this.targets);
    const settings: PushSettings = {
      ...DEFAULT_PUSH_SETTINGS,
      ...given,
      backoff: { ...DEFAULT_PUSH_SETTINGS.backoff, ...backoff },
    };
    if (settings.backoff.maxMs < settings.backoff.initialMs) {
      throw invalidField('/body/backoff/maxMs', 'backoff.maxMs must be at least backoff.initialMs.');
    }
    if ('queue' in source && settings.deadLetterQueue === source.queue) {
      throw invalidField('/body/deadLetterQueue', 'A queue cannot be the dead-letter queue of its own push subscription.');
    }
    const kept = secret === undefined ? ((await this.store.getPush(name))?.secret ?? null) : secret;
    const { push, created } = await this.store.putPush({ name, source, settings, secret: kept, now: this.clock.now(), groupDefaults: DEFAULT_GROUP_SETTINGS });
    await this.dispatcher.sync(name);
    return { push: await this.view(push), created };
  }

  async get(name: string): Promise<PushView> {
    return this.view(await this.record(name));
  }

  async list(request: ListRequest): Promise<Listed<PushView>> {
    return viewPage(await visiblePage((page) => this.store.listPush(page), request), (push) => this.view(push));
  }

  async delete(name: string): Promise<void> {
    await this.store.deletePush(name);
    await this.dispatcher.sync(name);
  }

  /** operation: pausePushSubscription — attempts in progress finish; nothing more is sent until resumed. */
  pause(name: string): Promise<PushView> {
    return this.setPaused(name, true);
  }

  /** operation: resumePushSubscription */
  resume(name: string): Promise<PushView> {
    return this.setPaused(name, false);
  }

  private async setPaused(name: string, paused: boolean): Promise<PushView> {
    const push = await this.store.setPushPaused({ name, paused, now: this.clock.now() });
    await this.dispatcher.sync(name);
    return this.view(push);
  }

  private async record(name: string): Promise<PushRecord> {
    const push = await this.store.getPush(name);
    if (push === null) throw new GatewayError('push_subscription_not_found', `Push subscription '${name}' does not exist.`);
    return push;
  }

  private async backlog(source: PushSource): Promise<number> {
    const now = this.clock.now();
    if ('group' in source) {
      const group = await this.store.describeGroup({ ...source, now });
      return group.partitions.reduce((sum, p) => sum + p.lag, 0);
    }
    const stats = 'queue' in source
      ? await this.store.queueStats({ queue: source.queue, now })
      : await this.store.subscriptionStats({ ...source, now });
    return stats.ready + stats.delayed;
  }

  private async view(push: PushRecord): Promise<PushView> {
    const { secret, counters, ...settings } = push;
    return {
      ...settings,
      signed: secret !== null,
      status: {
        state: push.paused ? 'paused' : 'running',
        backlog: await this.backlog(push.source),
        inFlight: this.dispatcher.inFlight(push.name),
        ...counters,
      },
    };
  }
}
