// Kubernetes Events on the evicted pod, written off the request path. record() only puts the
// decision in a bounded in-memory queue; one worker writes the queue to the API server, one write
// at a time, backing off while writes fail. Repeats are folded into the Event already written, as
// client-go's EventCorrelator does: a drain retrying a blocked eviction every 5 s yields one Event
// whose count grows, patched at most once per interval, not an Event per retry.
import type { KubeConfig } from '@kubernetes/client-node';
import { createHash } from 'node:crypto';
import os from 'node:os';
import { Backoff } from '../cluster/backoff';
import { describeError } from '../cluster/errors';
import { ApiWriteError, releaseWriteConnections, sendJson } from '../cluster/write';
import type { EvictionAttempt, Verdict } from '../domain';
import type { Logger } from './logger';
import type { WebhookMetrics } from './metrics';

export const EVENTS_MODES = ['all', 'deny', 'off'] as const;
/** `--events`: Events for every decision, for denials only (the default), or none. */
export type EventsMode = (typeof EVENTS_MODES)[number];

export const EVENT_COMPONENT = 'eviction-guard';
export const REASON_DENIED = 'EvictionDenied';
export const REASON_WARNED = 'EvictionAllowedWithWarnings';
export const REASON_ALLOWED = 'EvictionAllowed';

/** client-go's EventCorrelator folds similar events within 10 minutes; so do we. */
export const DEFAULT_DEDUPE_WINDOW_MS = 10 * 60_000;
/** At most one PATCH per Event per 30 s; occurrences in between add up to the next one. */
export const DEFAULT_PATCH_INTERVAL_MS = 30_000;
/** Events waiting to be written; beyond it the oldest is dropped. */
export const DEFAULT_QUEUE_SIZE = 1000;
/** The API server keeps an Event message to 1 KB in practice (kubectl shows it on one screen). */
export const MAX_EVENT_MESSAGE_BYTES = 1024;
/** A failed write is tried again this many times in all, at the patch interval, then given up. */
const MAX_WRITE_ATTEMPTS = 3;
/** Tracked Events beyond this are forgotten oldest first (a new Event is created if they recur). */
const MAX_TRACKED = 10_000;
const SWEEP_INTERVAL_MS = 60_000;
const DROP_LOG_INTERVAL_MS = 10_000;
/** Writes that fail back off from 1 s to 60 s; a success resets it. */
const WRITE_BACKOFF = { initialMs: 1000, maxMs: 60_000 };

/** The Event API; the real one is kubeEventApi(), tests use a fake. */
export interface EventApi {
  create(namespace: string, event: CoreEvent, signal: AbortSignal): Promise<void>;
  patch(namespace: string, name: string, patch: EventPatch, signal: AbortSignal): Promise<void>;
}

/** A core/v1 Event as eviction-guard writes it. */
export interface CoreEvent {
  apiVersion: 'v1';
  kind: 'Event';
  metadata: { name: string; namespace: string };
  involvedObject: { apiVersion: 'v1'; kind: 'Pod'; namespace: string; name: string; uid?: string };
  reason: string;
  message: string;
  type: 'Normal' | 'Warning';
  action: 'Evict';
  count: number;
  firstTimestamp: string;
  lastTimestamp: string;
  source: { component: string; host?: string };
  reportingComponent: string;
  reportingInstance: string;
}

export type EventPatch = Pick<CoreEvent, 'count' | 'lastTimestamp'>;

export interface EventRecorderOptions {
  api: EventApi;
  mode: Exclude<EventsMode, 'off'>;
  logger: Logger;
  metrics?: WebhookMetrics;
  /** reportingInstance and source.host: the pod name (hostname) by default. */
  instance?: string;
  dedupeWindowMs?: number;
  patchIntervalMs?: number;
  queueSize?: number;
  now?: () => number;
}

/** One Event as written, and what happened since. */
interface Tracked {
  key: string;
  event: CoreEvent;
  /** Occurrences so far; the API server has `written` of them. */
  count: number;
  written: number;
  lastSeenMs: number;
  lastWriteMs: number;
  failures: number;
  queued: boolean;
  inFlight: boolean;
  timer?: NodeJS.Timeout;
}

/** RFC 3339 with seconds, as metav1.Time serializes. */
function kubeTime(ms: number): string {
  return new Date(ms).toISOString().replace(/\.\d{3}Z$/, 'Z');
}

/** Whole lines of the text while they fit in maxBytes; a first line longer than that is cut. */
export function firstLines(text: string, maxBytes = MAX_EVENT_MESSAGE_BYTES): string {
  let kept = '';
  for (const line of text.split('\n')) {
    const next = kept === '' ? line : `${kept}\n${line}`;
    if (Buffer.byteLength(next) > maxBytes) break;
    kept = next;
  }
  if (kept !== '') return kept;
  let cut = text.split('\n')[0];
  while (Buffer.byteLength(cut) > maxBytes - 3) cut = cut.slice(0, -1);
  return `${cut}…`;
}

/** The Event a decision gets in a mode, or none. dryRun never gets one: the request changes nothing. */
export function eventFor(mode: Exclude<EventsMode, 'off'>, attempt: EvictionAttempt, verdict: Verdict): Pick<CoreEvent, 'reason' | 'type' | 'message'> | undefined {
  if (attempt.dryRun) return undefined;
  if (!verdict.allowed) {
    const message = verdict.status?.message ?? 'eviction-guard denied this eviction.';
    return { reason: REASON_DENIED, type: 'Warning', message: firstLines(message) };
  }
  if (mode !== 'all') return undefined;
  if (verdict.warnings.length > 0) {
    return { reason: REASON_WARNED, type: 'Warning', message: firstLines(['eviction-guard allowed this eviction with warnings:', ...verdict.warnings].join('\n')) };
  }
  const checks = verdict.findings.map((finding) => finding.check).join(', ');
  return { reason: REASON_ALLOWED, type: 'Normal', message: `eviction-guard allowed this eviction${checks ? ` (checks: ${checks})` : ''}.` };
}

export class EventRecorder {
  private readonly api: EventApi;
  private readonly mode: Exclude<EventsMode, 'off'>;
  private readonly logger: Logger;
  private readonly metrics?: WebhookMetrics;
  private readonly instance: string;
  private readonly dedupeWindowMs: number;
  private readonly patchIntervalMs: number;
  private readonly queueSize: number;
  private readonly now: () => number;

  private readonly tracked = new Map<string, Tracked>();
  private readonly queue: Tracked[] = [];
  private readonly backoff = new Backoff(WRITE_BACKOFF);
  private backoffUntil = 0;
  private worker: Promise<void> | undefined;
  private lastSweepMs = 0;
  private sequence = 0;
  /** Ends the worker's backoff wait early (close()). */
  private wake: (() => void) | undefined;
  private droppedSinceLog = 0;
  private lastDropLogMs = -Infinity;
  private closed = false;
  /** Ends backoff sleeps and writes in flight when close() gives up waiting. */
  private readonly abort = new AbortController();

  constructor(options: EventRecorderOptions) {
    this.api = options.api;
    this.mode = options.mode;
    this.logger = options.logger;
    this.metrics = options.metrics;
    this.instance = options.instance ?? os.hostname();
    this.dedupeWindowMs = options.dedupeWindowMs ?? DEFAULT_DEDUPE_WINDOW_MS;
    this.patchIntervalMs = options.patchIntervalMs ?? DEFAULT_PATCH_INTERVAL_MS;
    this.queueSize = options.queueSize ?? DEFAULT_QUEUE_SIZE;
    this.now = options.now ?? Date.now;
  }

  /** Events waiting to be written. */
  get pending(): number {
    return this.queue.length;
  }

  /** The decision gets an Event in this recorder's mode (before any rate limit). */
  wouldRecord(attempt: EvictionAttempt, verdict: Verdict): boolean {
    return !this.closed && eventFor(this.mode, attempt, verdict) !== undefined;
  }

  /**
   * Called on the request path: O(1) bookkeeping and a queue push, never I/O, never a throw.
   * `podUid` fills involvedObject.uid when the pod was known. `admitNew` is asked before a new
   * Event is made (a repeat folds into its Event without asking): false drops this occurrence.
   */
  record(attempt: EvictionAttempt, verdict: Verdict, podUid?: string, admitNew?: () => boolean): void {
    if (this.closed) return;
    const what = eventFor(this.mode, attempt, verdict);
    if (what === undefined) return;
    const now = this.now();
    this.sweep(now);
    const messageHash = createHash('sha256').update(what.message).digest('hex').slice(0, 16);
    const key = [attempt.namespace, attempt.podName, podUid ?? '', what.reason, messageHash].join('\u0000');

    const existing = this.tracked.get(key);
    if (existing !== undefined && now - existing.lastSeenMs <= this.dedupeWindowMs) {
      existing.count++;
      existing.lastSeenMs = now;
      existing.event.lastTimestamp = kubeTime(now);
      this.schedule(existing);
      return;
    }
    if (admitNew !== undefined && !admitNew()) return;
    if (existing !== undefined) this.forget(existing);

    const time = kubeTime(now);
    const entry: Tracked = {
      key,
      event: {
        apiVersion: 'v1',
        kind: 'Event',
        metadata: { name: this.eventName(attempt.podName, now), namespace: attempt.namespace },
        involvedObject: { apiVersion: 'v1', kind: 'Pod', namespace: attempt.namespace, name: attempt.podName, ...(podUid ? { uid: podUid } : {}) },
        ...what,
        action: 'Evict',
        count: 1,
        firstTimestamp: time,
        lastTimestamp: time,
        source: { component: EVENT_COMPONENT, host: this.instance },
        reportingComponent: EVENT_COMPONENT,
        reportingInstance: this.instance,
      },
      count: 1,
      written: 0,
      lastSeenMs: now,
      lastWriteMs: -Infinity,
      failures: 0,
      queued: false,
      inFlight: false,
    };
    this.tracked.set(key, entry);
    this.enqueue(entry);
  }

  /**
   * Writes what is still owed (counts not yet patched, Events not yet created) within `deadlineMs`,
   * then stops. Nothing is recorded afterwards.
   */
  async close(deadlineMs = 3000): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    for (const entry of this.tracked.values()) {
      if (entry.timer !== undefined) clearTimeout(entry.timer);
      entry.timer = undefined;
      if (entry.count > entry.written && !entry.queued && !entry.inFlight && entry.failures < MAX_WRITE_ATTEMPTS) this.enqueue(entry, true);
    }
    // A shutdown does not wait out a backoff; a write that fails now gives up at once.
    this.backoffUntil = 0;
    this.wake?.();
    this.startWorker();
    let timer: NodeJS.Timeout | undefined;
    const deadline = new Promise<'deadline'>((resolve) => {
      timer = setTimeout(() => resolve('deadline'), deadlineMs);
      timer.unref();
    });
    const outcome = await Promise.race([this.worker?.then(() => 'drained' as const) ?? Promise.resolve('drained' as const), deadline]);
    clearTimeout(timer);
    if (outcome === 'deadline') {
      this.logger.warn({ pending: this.queue.length + 1 }, 'shutdown: gave up writing the remaining Kubernetes Events');
      this.queue.length = 0;
      // Cuts the write in flight; not awaited, so that shutdown never waits on the API server.
      this.abort.abort();
      this.wake?.();
    }
  }

  /**
   * client-go's recorder names Events <object>.<unix nanoseconds in hex>. Clock milliseconds plus a
   * sequence in place of the nanoseconds keep two Events of one pod in one millisecond apart.
   */
  private eventName(podName: string, now: number): string {
    this.sequence = (this.sequence + 1) % 1_000_000;
    return `${podName}.${(BigInt(now) * 1_000_000n + BigInt(this.sequence)).toString(16)}`;
  }

  private schedule(entry: Tracked): void {
    if (entry.queued || entry.inFlight || entry.timer !== undefined || this.closed) return;
    const dueInMs = entry.lastWriteMs + this.patchIntervalMs - this.now();
    if (dueInMs <= 0) {
      this.enqueue(entry);
      return;
    }
    entry.timer = setTimeout(() => {
      entry.timer = undefined;
      this.enqueue(entry);
    }, dueInMs);
    entry.timer.unref();
  }

  private enqueue(entry: Tracked, closing = false): void {
    if (entry.queued || (this.closed && !closing)) return;
    if (this.queue.length >= this.queueSize) this.dropOldest();
    entry.queued = true;
    this.queue.push(entry);
    this.startWorker();
  }

  private dropOldest(): void {
    const dropped = this.queue.shift()!;
    dropped.queued = false;
    // An Event never created is forgotten, so that its next occurrence creates it; an unpatched
    // count stays owed and goes out with the next patch.
    if (dropped.written === 0) this.forget(dropped);
    this.metrics?.countEventsDropped();
    this.droppedSinceLog++;
    const now = this.now();
    if (now - this.lastDropLogMs >= DROP_LOG_INTERVAL_MS) {
      this.logger.warn(
        { dropped: this.droppedSinceLog, queueSize: this.queueSize },
        'the Kubernetes Event queue is full: dropped the oldest Events (the Events API is slow or failing)',
      );
      this.lastDropLogMs = now;
      this.droppedSinceLog = 0;
    }
  }

  private forget(entry: Tracked): void {
    if (entry.timer !== undefined) clearTimeout(entry.timer);
    entry.timer = undefined;
    if (this.tracked.get(entry.key) === entry) this.tracked.delete(entry.key);
  }

  /** Forgets Events not seen within the window; at most once a minute, and whenever too many are tracked. */
  private sweep(now: number): void {
    if (now - this.lastSweepMs < SWEEP_INTERVAL_MS && this.tracked.size < MAX_TRACKED) return;
    this.lastSweepMs = now;
    for (const entry of this.tracked.values()) {
      const idle = !entry.queued && !entry.inFlight && entry.timer === undefined;
      if (idle && now - entry.lastSeenMs > this.dedupeWindowMs) this.forget(entry);
    }
    // Still too many (a storm of distinct denials): forget the oldest idle ones (Map keeps insertion order).
    for (const entry of this.tracked.values()) {
      if (this.tracked.size < MAX_TRACKED) break;
      if (!entry.queued && !entry.inFlight) this.forget(entry);
    }
  }

  private startWorker(): void {
    this.worker ??= this.drain().finally(() => {
      this.worker = undefined;
      if (this.queue.length > 0 && !this.abort.signal.aborted) this.startWorker();
    });
  }

  private async drain(): Promise<void> {
    while (this.queue.length > 0 && !this.abort.signal.aborted) {
      const waitMs = this.backoffUntil - this.now();
      if (waitMs > 0) {
        await new Promise<void>((resolve) => {
          const timer = setTimeout(resolve, waitMs);
          this.wake = () => {
            clearTimeout(timer);
            resolve();
          };
        });
        this.wake = undefined;
        continue;
      }
      const entry = this.queue.shift()!;
      entry.queued = false;
      await this.write(entry);
    }
  }

  private async write(entry: Tracked): Promise<void> {
    const creating = entry.written === 0;
    const count = entry.count;
    entry.inFlight = true;
    entry.lastWriteMs = this.now();
    try {
      const { namespace, name } = entry.event.metadata;
      if (creating) await this.api.create(namespace, { ...entry.event, count }, this.abort.signal);
      else await this.api.patch(namespace, name, { count, lastTimestamp: entry.event.lastTimestamp }, this.abort.signal);
      entry.written = count;
      entry.failures = 0;
      this.backoff.reset();
      this.metrics?.countEventWrite(creating ? 'create' : 'patch', true);
    } catch (error) {
      this.metrics?.countEventWrite(creating ? 'create' : 'patch', false);
      this.onWriteFailed(entry, creating, error);
    } finally {
      entry.inFlight = false;
    }
    if (entry.count > entry.written && this.tracked.get(entry.key) === entry) {
      if (this.closed) {
        if (entry.failures === 0) this.enqueue(entry, true);
      } else this.schedule(entry);
    }
  }

  private onWriteFailed(entry: Tracked, creating: boolean, error: unknown): void {
    const { namespace, name } = entry.event.involvedObject;
    // The Event is gone (the API server's event TTL, or someone deleted it): create it again with the whole count.
    if (!creating && error instanceof ApiWriteError && error.status === 404) {
      entry.written = 0;
      entry.event.metadata.name = this.eventName(name, this.now());
      entry.lastWriteMs = -Infinity;
      return;
    }
    entry.failures++;
    const retryInMs = this.closed ? 0 : Math.round(this.backoff.nextDelayMs());
    this.backoffUntil = this.now() + retryInMs;
    const givingUp = entry.failures >= MAX_WRITE_ATTEMPTS || this.closed;
    this.logger.warn(
      { pod: `${namespace}/${name}`, reason: entry.event.reason, verb: creating ? 'create' : 'patch', error: describeError(error), retryInMs, givingUp },
      givingUp ? 'could not write a Kubernetes Event; giving up on it' : 'could not write a Kubernetes Event; will retry',
    );
    if (givingUp) this.forget(entry);
  }
}

/** The core/v1 Events API of the kubeconfig's cluster. */
export function kubeEventApi(kubeConfig: KubeConfig): EventApi & { release(): void } {
  const collection = (namespace: string) => `/api/v1/namespaces/${encodeURIComponent(namespace)}/events`;
  return {
    create: async (namespace, event, signal) => {
      await sendJson(kubeConfig, 'POST', collection(namespace), event, { signal });
    },
    // A strategic merge patch, as client-go's recorder sends for a repeated Event.
    patch: async (namespace, name, patch, signal) => {
      await sendJson(kubeConfig, 'PATCH', `${collection(namespace)}/${encodeURIComponent(name)}`, patch, {
        contentType: 'application/strategic-merge-patch+json',
        signal,
      });
    },
    release: () => releaseWriteConnections(kubeConfig),
  };
}
