// kubectl drain's own pod filters (docs/eviction-semantics.md §8.1), in kubectl's order: what drain
// does with a pod before it ever sends an eviction. Pure. Messages are kubectl's, word for word,
// so the preflight says what the drain will print.
import { MIRROR_POD_ANNOTATION, podAnnotation, type PodFacts } from '../domain';

/** The drain flags that change what the filters do. */
export interface DrainFlags {
  /** --ignore-daemonsets */
  ignoreDaemonSets: boolean;
  /** --delete-emptydir-data (deprecated alias --delete-local-data) */
  deleteEmptyDirData: boolean;
  /** --force */
  force: boolean;
}

export const DEFAULT_DRAIN_FLAGS: DrainFlags = { ignoreDaemonSets: false, deleteEmptyDirData: false, force: false };

export type DrainFilter = 'daemonset' | 'mirror' | 'local-storage' | 'unreplicated';

export const DRAIN_MESSAGES = {
  daemonSetFatal: 'cannot delete DaemonSet-managed Pods (use --ignore-daemonsets to ignore)',
  daemonSetWarning: 'ignoring DaemonSet-managed Pods',
  localStorageFatal: 'cannot delete Pods with local storage (use --delete-emptydir-data to override)',
  localStorageWarning: 'deleting Pods with local storage',
  unmanagedFatal: 'cannot delete Pods that declare no controller (use --force to override)',
  unmanagedWarning: 'deleting Pods that declare no controller',
  mirrorPod: 'mirror (static) pod: drain skips it, the kubelet owns it',
} as const;

/** One filter's say about a pod; `flag` is the drain flag that changes it. */
export interface DrainNote {
  filter: DrainFilter;
  message: string;
  flag?: string;
}

/**
 * evict: drain sends an eviction (kubectl prints the warning, if any).
 * skip: drain leaves the pod on the node (DaemonSet pods with --ignore-daemonsets, mirror pods).
 * refuse: drain stops before evicting anything on the node ("unable to drain node").
 */
export type DrainDisposition = { kind: 'evict'; warnings: DrainNote[] } | { kind: 'skip'; note: DrainNote } | { kind: 'refuse'; note: DrainNote };

const isFinished = (pod: PodFacts) => pod.phase === 'Succeeded' || pod.phase === 'Failed';

type FilterStep = { evict: true; warning?: DrainNote } | { evict: false; skip: DrainNote } | { evict: false; refuse: DrainNote };

type FilterFunction = (pod: PodFacts, flags: DrainFlags) => FilterStep;

const daemonSetFilter: FilterFunction = (pod, flags) => {
  if (pod.owner?.kind !== 'DaemonSet' || isFinished(pod)) return { evict: true };
  if (!flags.ignoreDaemonSets) return { evict: false, refuse: { filter: 'daemonset', message: DRAIN_MESSAGES.daemonSetFatal, flag: '--ignore-daemonsets' } };
  return { evict: false, skip: { filter: 'daemonset', message: DRAIN_MESSAGES.daemonSetWarning, flag: '--ignore-daemonsets' } };
};

const mirrorPodFilter: FilterFunction = (pod) =>
  podAnnotation(pod, MIRROR_POD_ANNOTATION) === undefined ? { evict: true } : { evict: false, skip: { filter: 'mirror', message: DRAIN_MESSAGES.mirrorPod } };

const localStorageFilter: FilterFunction = (pod, flags) => {
  if (!pod.hasEmptyDir || isFinished(pod)) return { evict: true };
  if (!flags.deleteEmptyDirData) {
    return { evict: false, refuse: { filter: 'local-storage', message: DRAIN_MESSAGES.localStorageFatal, flag: '--delete-emptydir-data' } };
  }
  return { evict: true, warning: { filter: 'local-storage', message: DRAIN_MESSAGES.localStorageWarning, flag: '--delete-emptydir-data' } };
};

const unreplicatedFilter: FilterFunction = (pod, flags) => {
  if (pod.owner !== undefined || isFinished(pod)) return { evict: true };
  if (!flags.force) return { evict: false, refuse: { filter: 'unreplicated', message: DRAIN_MESSAGES.unmanagedFatal, flag: '--force' } };
  return { evict: true, warning: { filter: 'unreplicated', message: DRAIN_MESSAGES.unmanagedWarning, flag: '--force' } };
};

const FILTERS: readonly FilterFunction[] = [daemonSetFilter, mirrorPodFilter, localStorageFilter, unreplicatedFilter];

/** What kubectl drain does with the pod: the first filter that does not evict decides. */
export function drainDisposition(pod: PodFacts, flags: DrainFlags): DrainDisposition {
  let last: FilterStep | undefined;
  for (const filter of FILTERS) {
    const step = filter(pod, flags);
    if (!step.evict) return 'skip' in step ? { kind: 'skip', note: step.skip } : { kind: 'refuse', note: step.refuse };
    last = step;
  }
  // kubectl keeps only the last filter's status, so an earlier filter's warning is dropped: an
  // emptyDir pod with a controller is evicted without "deleting Pods with local storage"
  // (kubectl pkg/drain/filters.go: "this warning gets dropped by subsequent filters").
  return { kind: 'evict', warnings: last !== undefined && 'warning' in last && last.warning ? [last.warning] : [] };
}
