// A small reflector: paged LIST into a fresh trimmed store, then WATCH from the list's
// resourceVersion, restarting for ever with backoff. client-node's informer is not used because it
// caches full objects and stops for good after a watch drop, a list error or an HTTP error.
import { Watch, type KubeConfig } from '@kubernetes/client-node';
import { setTimeout as sleep } from 'node:timers/promises';
import { API_TIMEOUT_MS, ApiError, readListPage } from './api';
import { Backoff } from './backoff';
import { describeError } from './errors';
import { NamespacedStore } from './index';
import type { Trimmed } from './trim';
import type { ClusterLogger, ResourceSyncState } from './view';

/** kubectl and client-go page lists by 500; a page stays small enough to parse in a few ms. */
const LIST_PAGE_SIZE = 500;
/** A watch that stayed up this long counts as healthy: its end restarts the backoff from the start. */
const HEALTHY_WATCH_MS = 30_000;

export interface WatchedResource<T> {
  /** Plural resource name, as in status() and logs: 'pods'. */
  resource: string;
  /** Collection path across all namespaces: '/api/v1/pods'. */
  path: string;
  trim(raw: unknown): Trimmed<T>;
  /** Secondary keys the store indexes objects by (NamespacedStore). */
  secondaryKeys?: (item: T) => readonly string[];
}

export interface ReflectorEvents {
  /** A watch ended (or its list failed) and is being restarted; for metrics. */
  onWatchRestart?(resource: string): void;
  /** The store changed: a relist swapped it, or a watch event changed an object. */
  onChange?(resource: string): void;
}

type WatchEnd =
  | { kind: 'stopped' }
  | { kind: 'closed' }
  | { kind: 'expired'; message: string }
  | { kind: 'failed'; message: string };

type Json = Record<string, unknown>;

function asObject(value: unknown): Json | undefined {
  return typeof value === 'object' && value !== null && !Array.isArray(value) ? (value as Json) : undefined;
}

/**
 * k8s.Watch connects through node-fetch with no deadline, and hands back its AbortController only
 * once connected. This view of the kubeconfig gives each watch a connect deadline and passes us
 * the connection's agent, so a hung connect fails and stop() can cut one that is still pending.
 */
function watchConfig(kubeConfig: KubeConfig, onAgent: (agent: { destroy(): void }) => void): KubeConfig {
  const config = Object.create(kubeConfig) as KubeConfig;
  config.applyToFetchOptions = async (options) => {
    const init = await kubeConfig.applyToFetchOptions(options);
    const agent = init.agent as { destroy?: () => void } | undefined;
    if (typeof agent?.destroy === 'function') onAgent(agent as { destroy(): void });
    return Object.assign(init, { timeout: API_TIMEOUT_MS });
  };
  return config;
}

export class Reflector<T extends { namespace: string; name: string }> {
  private current: NamespacedStore<T>;
  private resourceVersion = '';
  private synced = false;
  private restarts = 0;
  private lastError: string | undefined;
  private stopped = false;
  private readonly stopping = new AbortController();
  private readonly backoff = new Backoff();
  private loop: Promise<void> | undefined;
  private endWatch: ((end: WatchEnd) => void) | undefined;
  /** Settles once k8s.Watch has connected or given up; until then node-fetch holds a socket and a timer. */
  private watchConnecting: Promise<void> | undefined;

  constructor(
    private readonly kubeConfig: KubeConfig,
    private readonly watched: WatchedResource<T>,
    private readonly logger: ClusterLogger,
    private readonly events: ReflectorEvents = {},
  ) {
    this.current = new NamespacedStore<T>(watched.secondaryKeys);
  }

  /** The objects as of the last list plus the watch events since; replaced whole by each relist. */
  get store(): NamespacedStore<T> {
    return this.current;
  }

  get isSynced(): boolean {
    return this.synced;
  }

  state(): ResourceSyncState {
    return {
      resource: this.watched.resource,
      synced: this.synced,
      count: this.current.size,
      restarts: this.restarts,
      ...(this.lastError === undefined ? {} : { lastError: this.lastError }),
    };
  }

  start(): void {
    this.loop ??= this.run();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    this.stopping.abort();
    this.endWatch?.({ kind: 'stopped' });
    await Promise.all([this.loop, this.watchConnecting]);
  }

  private async run(): Promise<void> {
    const { resource } = this.watched;
    let mustList = true;
    while (!this.stopped) {
      let watchedFor = 0;
      let problem: string | undefined;
      try {
        if (mustList) {
          await this.relist();
          mustList = false;
        }
        const started = Date.now();
        const end = await this.watch();
        watchedFor = Date.now() - started;
        if (end.kind === 'stopped') return;
        if (end.kind === 'expired') {
          mustList = true;
          problem = `watch expired, relisting: ${end.message}`;
        } else if (end.kind === 'failed') {
          problem = `watch failed: ${end.message}`;
        }
      } catch (error) {
        if (this.stopped) return;
        problem = `list failed: ${describeError(error)}`;
      }

      if (watchedFor >= HEALTHY_WATCH_MS) this.backoff.reset();
      const delayMs = Math.round(this.backoff.nextDelayMs());
      this.restarts++;
      if (problem !== undefined) this.lastError = problem;
      this.events.onWatchRestart?.(resource);
      const details = { resource, restarts: this.restarts, retryInMs: delayMs, relist: mustList };
      if (problem === undefined) this.logger.info(details, 'watch closed by the API server; resuming');
      else this.logger.warn({ ...details, error: problem }, 'watch interrupted; restarting');
      try {
        await sleep(delayMs, undefined, { signal: this.stopping.signal });
      } catch {
        return;
      }
    }
  }

  /** One listed item into the store being filled; what cannot be trimmed is counted in `rejected`. */
  private index(item: string, store: NamespacedStore<T>, rejected: string[]): void {
    let raw: unknown;
    try {
      raw = JSON.parse(item);
    } catch (error) {
      throw new Error(`invalid JSON in a list item: ${describeError(error)}`);
    }
    const trimmed = this.watched.trim(raw);
    if ('facts' in trimmed) store.set(trimmed.facts);
    else rejected.push(trimmed.error);
  }

  /** Lists every page into a new store and swaps it in whole, so readers never see a half-filled index. */
  private async relist(): Promise<void> {
    const { resource, path } = this.watched;
    const started = Date.now();
    const store = new NamespacedStore<T>(this.watched.secondaryKeys);
    const rejected: string[] = [];
    let continueToken: string | undefined;
    let resourceVersion = '';
    do {
      const query = new URLSearchParams({ limit: String(LIST_PAGE_SIZE) });
      if (continueToken !== undefined) query.set('continue', continueToken);
      const pagePath = `${path}?${query}`;
      const { metadata } = await readListPage(this.kubeConfig, pagePath, (item) => this.index(item, store, rejected), { signal: this.stopping.signal });
      if (typeof metadata.resourceVersion !== 'string') throw new ApiError(pagePath, 'the answer is not a list with metadata.resourceVersion');
      resourceVersion = metadata.resourceVersion;
      continueToken = typeof metadata.continue === 'string' && metadata.continue !== '' ? metadata.continue : undefined;
    } while (continueToken !== undefined);

    if (rejected.length > 0) {
      this.logger.warn({ resource, skipped: rejected.length, example: rejected[0] }, 'skipped listed objects that cannot be indexed');
    }
    this.current = store;
    this.resourceVersion = resourceVersion;
    this.logger.info({ resource, count: store.size, resourceVersion, durationMs: Date.now() - started }, 'listed');
    this.synced = true;
    this.events.onChange?.(resource);
  }

  private watch(): Promise<WatchEnd> {
    const { resource, path } = this.watched;
    return new Promise<WatchEnd>((resolve) => {
      let ended = false;
      let agent: { destroy(): void } | undefined;
      let controller: AbortController | undefined;
      const end = (outcome: WatchEnd) => {
        if (ended) return;
        ended = true;
        this.endWatch = undefined;
        controller?.abort();
        agent?.destroy();
        resolve(outcome);
      };
      this.endWatch = end;
      const config = watchConfig(this.kubeConfig, (connectionAgent) => {
        agent = connectionAgent;
        if (ended) agent.destroy();
      });
      this.watchConnecting = new Watch(config)
        .watch(
          path,
          { resourceVersion: this.resourceVersion, allowWatchBookmarks: true },
          (type: string, object: unknown) => {
            if (ended) return;
            const outcome = this.apply(type, object);
            if (outcome !== undefined) end(outcome);
          },
          (error: unknown) => end(error ? { kind: 'failed', message: describeError(error) } : { kind: 'closed' }),
        )
        .then(
          (watchController) => {
            controller = watchController;
            if (ended) watchController.abort();
          },
          (error: unknown) => end({ kind: 'failed', message: describeError(error) }),
        );
      this.logger.debug({ resource, resourceVersion: this.resourceVersion }, 'watching');
    });
  }

  /** Applies one watch event; returns how the watch ends when the event ends it. */
  private apply(type: string, object: unknown): WatchEnd | undefined {
    const { resource } = this.watched;
    if (type === 'ERROR') {
      const status = asObject(object);
      const message = typeof status?.message === 'string' ? status.message : JSON.stringify(object);
      // The API server answers a watch from a compacted resourceVersion with 410 Expired (or Gone).
      return status?.code === 410 ? { kind: 'expired', message } : { kind: 'failed', message: `ERROR event: ${message}` };
    }
    if (type === 'ADDED' || type === 'MODIFIED' || type === 'DELETED') {
      const trimmed = this.watched.trim(object);
      if ('error' in trimmed) {
        this.logger.warn({ resource, event: type, error: trimmed.error }, 'skipped a watch event that cannot be indexed');
      } else {
        if (type === 'DELETED') this.current.delete(trimmed.facts.namespace, trimmed.facts.name);
        else this.current.set(trimmed.facts);
        this.events.onChange?.(resource);
      }
    } else if (type !== 'BOOKMARK') {
      this.logger.debug({ resource, event: type }, 'ignored a watch event of unknown type');
      return undefined;
    }
    const resourceVersion = asObject(asObject(object)?.metadata)?.resourceVersion;
    if (typeof resourceVersion === 'string' && resourceVersion !== '') this.resourceVersion = resourceVersion;
    return undefined;
  }
}
