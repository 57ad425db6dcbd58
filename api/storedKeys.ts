import type { PostgresStore } from '../persistence/postgres/postgresStore';
import { checkKeys } from './keysFile';
import type { KeysSource } from './keysReload';

/**
 * The keys kept in the PostgreSQL store (keysInStore) as a source: its watch
 * reads them every `intervalMs`, each read starting that long after the last
 * one ended, so a key added or revoked through any gateway's database is in
 * force here within the interval and one read. `name` names the store's
 * servers in the log (never the password).
 */
export function storedKeysSource(store: Pick<PostgresStore, 'apiKeys'>, name: string): KeysSource {
  return {
    names: { store: name },
    read: async () => checkKeys({ keys: await store.apiKeys() }, `the keys in the store at ${name}`),
    watch(intervalMs, look) {
      let timer: NodeJS.Timeout | undefined;
      let stopped = false;
      const next = (): void => {
        timer = setTimeout(() => {
          void look('the stored keys were read').then(() => {
            if (!stopped) next();
          });
        }, intervalMs);
        // Like the keys file's watch: it never keeps the process alive by itself.
        timer.unref();
      };
      next();
      return () => {
        stopped = true;
        clearTimeout(timer);
      };
    },
  };
}
