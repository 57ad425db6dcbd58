import type {
  Listed,
  PageRequest,
  QueueStats,
  SubscriptionRecord,
  SubscriptionSettings,
  SubscriptionStore,
} from '../persistence/store';
import type { Clock } from './clock';
import { GatewayError } from './errors';
import { viewPage } from './pages';
import { checkDeadLetterPolicy } from './queueService';

export type SubscriptionView = SubscriptionRecord & { stats: QueueStats };

export type SubscriptionInput = Partial<SubscriptionSettings> & {
  /** Where a new subscription starts: the next message (default) or every retained one. */
  startAt?: 'earliest' | 'latest';
};

/** Settings of a subscription created with an empty body: a queue's defaults. */
export const DEFAULT_SUBSCRIPTION_SETTINGS: SubscriptionSettings = {
  visibilityTimeoutMs: 30_000,
  maxDeliveries: null,
  deadLetterQueue: null,
};

/**
 * Queue subscriptions of a topic: each an independent work queue over the
 * topic's messages (Pub/Sub's subscriptions, Kafka's share groups). Fetch,
 * ack, nack and extend are QueueService's, addressed to the subscription.
 */
export class SubscriptionService {
  constructor(
    private readonly store: SubscriptionStore,
    private readonly clock: Clock,
  ) {}

  /** operation: putSubscription */
  async put(topic: string, name: string, input: SubscriptionInput): Promise<{ subscription: SubscriptionView; created: boolean }> {
    const { startAt, ...given } = input;
    const settings = { ...DEFAULT_SUBSCRIPTION_SETTINGS, ...given };
    checkDeadLetterPolicy(settings);
    const { subscription, created } = await this.store.putSubscription({ topic, subscription: name, settings, fromEarliest: startAt === 'earliest', now: this.clock.now() });
    return { subscription: await this.view(subscription), created };
  }

  async get(topic: string, name: string): Promise<SubscriptionView> {
    const subscription = await this.store.getSubscription({ topic, subscription: name });
    if (subscription === null) throw new GatewayError('subscription_not_found', `Topic '${topic}' has no subscription '${name}'.`);
    return this.view(subscription);
  }

  async list(topic: string, page: PageRequest): Promise<Listed<SubscriptionView>> {
    return viewPage(await this.store.listSubscriptions({ topic, ...page }), (subscription) => this.view(subscription));
  }

  delete(topic: string, name: string): Promise<void> {
    return this.store.deleteSubscription({ topic, subscription: name });
  }

  private async view(subscription: SubscriptionRecord): Promise<SubscriptionView> {
    return { ...subscription, stats: await this.store.subscriptionStats({ topic: subscription.topic, subscription: subscription.name, now: this.clock.now() }) };
  }
}
