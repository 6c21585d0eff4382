// Preloaded into the webhook by `npm run bench:profile` (node -r): takes orders over the IPC
// channel, so that a CPU profile covers the load window only and heap snapshots are taken at the
// moments the profiler chooses, without a flag or an endpoint in the product.
// Orders: cpu-start and cpu-stop (a CPU profile), alloc-start and alloc-stop (sampled allocations,
// garbage included), heap (a snapshot) and memory (figures after a full GC); each is answered
// with {op, ...result}.
import { writeFileSync } from 'node:fs';
import { Session } from 'node:inspector';
import { constants, PerformanceObserver, type PerformanceEntry } from 'node:perf_hooks';
import v8 from 'node:v8';

export type ProfileOrder =
  | { op: 'cpu-start' }
  | { op: 'cpu-stop'; file: string }
  | { op: 'alloc-start'; promotedOnly?: boolean }
  | { op: 'alloc-stop'; file: string }
  | { op: 'heap'; file: string }
  | { op: 'memory' };

export interface MemoryFigures {
  rss: number;
  heapUsed: number;
  heapTotal: number;
  external: number;
  arrayBuffers: number;
  spaces: { name: string; used: number; size: number }[];
}

/** Garbage collections during a CPU profile, by kind: count and pause time (the main thread's share). */
export type GcTotals = Record<'minor' | 'major' | 'incremental' | 'weakcb', { count: number; ms: number }>;

const GC_KINDS: Record<number, keyof GcTotals> = {
  [constants.NODE_PERFORMANCE_GC_MINOR]: 'minor',
  [constants.NODE_PERFORMANCE_GC_MAJOR]: 'major',
  [constants.NODE_PERFORMANCE_GC_INCREMENTAL]: 'incremental',
  [constants.NODE_PERFORMANCE_GC_WEAKCB]: 'weakcb',
};

function observeGc(): { stop(): GcTotals } {
  const totals: GcTotals = { minor: { count: 0, ms: 0 }, major: { count: 0, ms: 0 }, incremental: { count: 0, ms: 0 }, weakcb: { count: 0, ms: 0 } };
  const observer = new PerformanceObserver((list) => {
    for (const entry of list.getEntries() as (PerformanceEntry & { detail?: { kind?: number } })[]) {
      const kind = GC_KINDS[entry.detail?.kind ?? -1];
      if (kind === undefined) continue;
      totals[kind].count++;
      totals[kind].ms += entry.duration;
    }
  });
  observer.observe({ entryTypes: ['gc'] });
  return {
    stop: () => {
      observer.disconnect();
      return totals;
    },
  };
}

function post<T>(session: Session, method: string, params: object = {}): Promise<T> {
  return new Promise((resolve, reject) => session.post(method, params, (error, result) => (error ? reject(error) : resolve(result as T))));
}

/** A full GC, so that figures count what is live and not what is merely uncollected. */
function collect(): void {
  (globalThis as { gc?: () => void }).gc?.();
}

function memoryFigures(): MemoryFigures {
  collect();
  const usage = process.memoryUsage();
  const spaces = v8.getHeapSpaceStatistics().map((space) => ({ name: space.space_name, used: space.space_used_size, size: space.space_size }));
  return { rss: usage.rss, heapUsed: usage.heapUsed, heapTotal: usage.heapTotal, external: usage.external, arrayBuffers: usage.arrayBuffers, spaces };
}

if (process.send !== undefined) {
  const session = new Session();
  session.connect();
  const answer = (message: object) => process.send!(message);
  let gc: { stop(): GcTotals } | undefined;
  process.on('message', (order: ProfileOrder) => {
    const run = async () => {
      switch (order.op) {
        case 'cpu-start':
          await post(session, 'Profiler.enable');
          // 250 µs between samples: fine enough for a request that takes a few hundred µs.
          await post(session, 'Profiler.setSamplingInterval', { interval: 250 });
          await post(session, 'Profiler.start');
          gc = observeGc();
          return {};
        case 'cpu-stop': {
          const { profile } = await post<{ profile: unknown }>(session, 'Profiler.stop');
          writeFileSync(order.file, JSON.stringify(profile));
          const totals = gc?.stop();
          gc = undefined;
          return { file: order.file, gc: totals };
        }
        case 'alloc-start':
          await post(session, 'HeapProfiler.enable');
          // Garbage too: what a request allocates and drops is what the scavenger pays for. Or
          // only what outlived the young generation: what gets promoted and fills the old space.
          await post(session, 'HeapProfiler.startSampling', {
            samplingInterval: 4096,
            includeObjectsCollectedByMajorGC: true,
            includeObjectsCollectedByMinorGC: order.promotedOnly !== true,
          });
          return {};
        case 'alloc-stop': {
          const { profile } = await post<{ profile: unknown }>(session, 'HeapProfiler.stopSampling');
          writeFileSync(order.file, JSON.stringify(profile));
          return { file: order.file };
        }
        case 'heap':
          collect();
          return { file: v8.writeHeapSnapshot(order.file) };
        case 'memory':
          return memoryFigures();
      }
    };
    run().then(
      (result) => answer({ op: order.op, ...result }),
      (error: unknown) => answer({ op: order.op, error: String(error) }),
    );
  });
  // The channel must not keep a webhook alive that SIGTERM has asked to stop.
  process.channel?.unref();
}
