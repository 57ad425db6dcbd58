import type { PushSource } from '../../persistence/store';

/** A source as a path: `queues/orders`, `topics/t/subscriptions/s`, `topics/t/groups/g` (the `Mqgate-Source` header). */
export function sourcePath(source: PushSource): string {
  if ('queue' in source) return `queues/${source.queue}`;
  if ('group' in source) return `topics/${source.topic}/groups/${source.group}`;
  return `topics/${source.topic}/subscriptions/${source.subscription}`;
}
