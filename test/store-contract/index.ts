import type { Store } from '../../persistence/store';
import { describeDeduplication } from './deduplication';
import { describeDeliveries } from './deliveries';
import { type ContractContext, type StoreHarness, settings, T0 } from './fixtures';
import { describeGroups } from './groups';
import { describeLeases } from './leases';
import { describeMaintenance } from './maintenance';
import { describePush } from './push';
import { describeQueues } from './queues';
import { describeReceiveAttempts } from './receiveAttempts';
import { describeReplies } from './replies';
import { describeSchemas } from './schemas';
import { describeSubscriptions } from './subscriptions';
import { describeTopics } from './topics';

/**
 * The contract every store backend must pass. A backend is done when
 * `describeStoreContract('<name>', factory)` passes for it unchanged.
 * It speaks only through the Store interface, so that it holds for any
 * backend; what one backend does inside belongs to that backend's own tests.
 * Time is passed explicitly to every call, so no clock is needed.
 */
export function describeStoreContract(backend: string, open: () => Promise<StoreHarness>): void {
  describe(`store contract: ${backend}`, () => {
    let harness: StoreHarness;
    let store: Store;

    beforeEach(async () => {
      harness = await open();
      store = harness.store;
      await store.putQueue({ name: 'q', settings: settings(), now: T0 });
    });

    afterEach(async () => {
      await harness.cleanup();
    });

    const context: ContractContext = {
      get store() {
        return store;
      },
      async reopen() {
        store = await harness.reopen();
        return store;
      },
      open,
    };

    describeQueues(context);
    describeDeliveries(context);
    describeReplies(context);
    describeTopics(context);
    describeSubscriptions(context);
    describeGroups(context);
    describePush(context);
    describeMaintenance(context);
    describeLeases(context);
    describeReceiveAttempts(context);
    describeDeduplication(context);
    describeSchemas(context);
  });
}
