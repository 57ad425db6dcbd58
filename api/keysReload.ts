import fs from 'node:fs';
import type { AuthOptions } from './auth';
import type { ApiKey } from './keys';
import { combineKeys, rereadKeysFile } from './keysFile';
import type { Logger } from './logging';
import type { Metrics } from './metrics';

/** Where a reload reads the keys: the keys file, or the PostgreSQL store (api/storedKeys.ts). */
export interface KeysSource {
  /** What a reload's log line names the source by: `{ file }`, `{ store }`. */
  readonly names: Readonly<Record<string, string>>;
  /** The source's keys, checked as those of a keys file at start; rejects when they cannot be read or one is bad. */
  read(): Promise<ApiKey[]>;
  /**
   * Calls `look` whenever the source may hold something new, looking every
   * `intervalMs`; `trigger` says why, `look` resolves once the keys are read.
   * Returns how to stop.
   */
  watch(intervalMs: number, look: (trigger: string) => Promise<void>): () => void;
}

export interface KeysReloadOptions {
  /** Where the keys are read again at each reload. */
  source: KeysSource;
  /** The keys given inline (MQGATE_KEYS), which cannot change: kept beside the source's at each reload. */
  inline: ApiKey[];
  /** Where the keys are in force: the ring every request is checked against, and the per-key limits and long-polls. */
  auth: Pick<AuthOptions, 'keys' | 'rates'>;
  logger: Logger;
  metrics: Pick<Metrics, 'keysReloaded'>;
}

/** Whether a file's stat says it may hold something new: another file put in its place (an inode), or a write. */
function changed(current: fs.Stats, previous: fs.Stats): boolean {
  return (
    current.ino !== previous.ino ||
    current.dev !== previous.dev ||
    current.size !== previous.size ||
    current.mtimeMs !== previous.mtimeMs ||
    current.ctimeMs !== previous.ctimeMs
  );
}

/**
 * The keys file as a source. Its watch looks at the file's stat (polling, not
 * inotify: it sees a network mount change, and a Kubernetes Secret or
 * ConfigMap whose mount swaps a symlink to a new file), and reads it when the
 * stat changed.
 */
export function keysFileSource(file: string): KeysSource {
  return {
    names: { file },
    read: () => rereadKeysFile(file),
    watch(intervalMs, look) {
      const listener = (current: fs.Stats, previous: fs.Stats): void => {
        if (changed(current, previous)) void look('the keys file changed');
      };
      fs.watchFile(file, { interval: intervalMs, persistent: false }, listener);
      return () => fs.unwatchFile(file, listener);
    },
  };
}

/**
 * The keys of a source (the keys file, or the store), read again on demand
 * (SIGHUP) and whenever its watch looks. A reload checks the keys as the
 * start checks a keys file (schema, unique ids) and puts them in force from
 * the next request; a waiting long-poll whose key it revokes, or whose scope
 * it takes away, ends at once. A reload that fails keeps the keys in force.
 * Either way it is logged and counted (`mqgate_keys_reloads_total`), except a
 * watch's read that finds the keys in force unchanged; it never throws.
 */
export class KeysReloader {
  /** The reload running, or the last one: they run one at a time, in order, so the keys read last are the ones in force. */
  private last: Promise<void> = Promise.resolve();

  constructor(private readonly options: KeysReloadOptions) {}

  /** Reads the source again and puts its keys in force; `trigger` says why, in the log line. Resolves once done. */
  reload(trigger: string): Promise<void> {
    return this.enqueue(trigger, false);
  }

  /**
   * Lets the source's watch read the keys every `intervalMs` (or when it sees
   * a change): a change is in force within `intervalMs` and one read. A read
   * that finds nothing changed is neither logged nor counted. Returns how to stop.
   */
  watch(intervalMs: number): () => void {
    return this.options.source.watch(intervalMs, (trigger) => this.enqueue(trigger, true));
  }

  private enqueue(trigger: string, quietIfUnchanged: boolean): Promise<void> {
    this.last = this.last.then(() => this.once(trigger, quietIfUnchanged));
    return this.last;
  }

  private async once(trigger: string, quietIfUnchanged: boolean): Promise<void> {
    const { source, inline, auth, logger, metrics } = this.options;
    try {
      const keys = combineKeys(await source.read(), inline);
      const changes = auth.keys.replace(keys);
      auth.rates.keysChanged(changes);
      const { added, removed, changed: altered } = changes;
      if (quietIfUnchanged && added.length + removed.length + altered.length === 0) return;
      metrics.keysReloaded('ok');
      const ids = (list: ApiKey[]): string[] => list.map((key) => key.id);
      logger.info(
        { trigger, ...source.names, keys: keys.length, added: ids(added), removed: ids(removed), changed: ids(altered) },
        `keys reloaded: ${added.length} added, ${removed.length} removed, ${altered.length} changed`,
      );
    } catch (error) {
      metrics.keysReloaded('failed');
      logger.error(
        { trigger, ...source.names, cause: error instanceof Error ? error.message : String(error) },
        `keys reload failed: the ${auth.keys.size} keys in force stay`,
      );
    }
  }
}
