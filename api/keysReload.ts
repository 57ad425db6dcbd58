import fs from 'node:fs';
import type { AuthOptions } from './auth';
import type { ApiKey } from './keys';
import { combineKeys, rereadKeysFile } from './keysFile';
import type { Logger } from './logging';
import type { Metrics } from './metrics';

export interface KeysReloadOptions {
  /** The keys file, read again at each reload. */
  file: string;
  /** The keys given inline (MQGATE_KEYS), which cannot change: kept beside the file's at each reload. */
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
 * The keys file, read again on demand (SIGHUP) and whenever its watch sees it
 * change. A reload checks the file as the start does (schema, unique ids) and
 * puts its keys in force from the next request; a waiting long-poll whose key
 * it revokes, or whose scope it takes away, ends at once. A reload that fails
 * keeps the keys in force. Either way it is logged and counted
 * (`mqgate_keys_reloads_total`); it never throws.
 */
export class KeysReloader {
  /** The reload running, or the last one: they run one at a time, in order, so the file read last is the one in force. */
  private last: Promise<void> = Promise.resolve();

  constructor(private readonly options: KeysReloadOptions) {}

  /** Reads the keys file again and puts its keys in force; `trigger` says why, in the log line. Resolves once done. */
  reload(trigger: string): Promise<void> {
    this.last = this.last.then(() => this.once(trigger));
    return this.last;
  }

  /**
   * Looks at the file's stat every `intervalMs` (polling, not inotify: it
   * sees a network mount change, and a Kubernetes Secret or ConfigMap whose
   * mount swaps a symlink to a new file), and reloads when it changed. So a
   * change is in force within `intervalMs` and one read. Returns how to stop.
   */
  watch(intervalMs: number): () => void {
    const { file } = this.options;
    const listener = (current: fs.Stats, previous: fs.Stats): void => {
      if (changed(current, previous)) void this.reload('the keys file changed');
    };
    fs.watchFile(file, { interval: intervalMs, persistent: false }, listener);
    return () => fs.unwatchFile(file, listener);
  }

  private async once(trigger: string): Promise<void> {
    const { file, inline, auth, logger, metrics } = this.options;
    try {
      const keys = combineKeys(await rereadKeysFile(file), inline);
      const changes = auth.keys.replace(keys);
      auth.rates.keysChanged(changes);
      metrics.keysReloaded('ok');
      const ids = (list: ApiKey[]): string[] => list.map((key) => key.id);
      const { added, removed, changed: altered } = changes;
      logger.info(
        { trigger, file, keys: keys.length, added: ids(added), removed: ids(removed), changed: ids(altered) },
        `keys reloaded: ${added.length} added, ${removed.length} removed, ${altered.length} changed`,
      );
    } catch (error) {
      metrics.keysReloaded('failed');
      logger.error(
        { trigger, file, cause: error instanceof Error ? error.message : String(error) },
        `keys reload failed: the ${auth.keys.size} keys in force stay`,
      );
    }
  }
}
