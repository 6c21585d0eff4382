// Reloads `--policy` paths when they change, without a restart. Folders are watched rather than
// files: editors replace a file by renaming a new one over it, and a ConfigMap volume swaps its
// ..data symlink; both end a watch on the old file but show up in its folder.
import { statSync, watch, type FSWatcher } from 'node:fs';
import path from 'node:path';
import { describeError } from '../cluster/errors';
import type { ClusterLogger } from '../cluster/view';

/** A burst of events (a save writes, renames and chmods) becomes one reload. */
const RELOAD_DEBOUNCE_MS = 200;

export interface PolicyFileWatch {
  close(): void;
}

function folderOf(target: string): string {
  try {
    return statSync(target).isDirectory() ? target : path.dirname(target);
  } catch {
    return path.dirname(target);
  }
}

export function watchPolicyPaths(paths: readonly string[], reload: () => void, logger: ClusterLogger, debounceMs = RELOAD_DEBOUNCE_MS): PolicyFileWatch {
  let timer: NodeJS.Timeout | undefined;
  const schedule = () => {
    clearTimeout(timer);
    timer = setTimeout(reload, debounceMs);
  };
  const watchers: FSWatcher[] = [];
  for (const folder of new Set(paths.map(folderOf))) {
    try {
      const watcher = watch(folder, schedule);
      watcher.on('error', (error) => logger.warn({ folder, error: describeError(error) }, 'stopped watching a policy folder; restart to reload its changes'));
      watchers.push(watcher);
    } catch (error) {
      logger.warn({ folder, error: describeError(error) }, 'cannot watch a policy folder; its changes need a restart');
    }
  }
  return {
    close() {
      clearTimeout(timer);
      for (const watcher of watchers) watcher.close();
    },
  };
}
