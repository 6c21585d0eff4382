import { DEFAULT_DRAIN_FLAGS, DRAIN_MESSAGES, drainDisposition, type DrainFlags } from '../../src/drain/filters';
import { podFacts } from '../helpers/facts';

const ALL_FLAGS: DrainFlags = { ignoreDaemonSets: true, deleteEmptyDirData: true, force: true };
const daemonSetPod = podFacts('fluentd-x', { owner: { kind: 'DaemonSet', name: 'fluentd' } });
const mirrorPod = podFacts('kube-apiserver-n1', { owner: { kind: 'Node', name: 'n1' }, annotations: { 'kubernetes.io/config.mirror': 'abc' } });
const emptyDirPod = podFacts('cache-1', { hasEmptyDir: true });
const barePod = podFacts('toolbox', { owner: undefined });

describe('drainDisposition(): kubectl drain filters, docs/eviction-semantics.md §8.1', () => {
  it.each([
    ['a ReplicaSet pod', podFacts('web-1'), DEFAULT_DRAIN_FLAGS, { kind: 'evict', warnings: [] }],
    [
      'a DaemonSet pod without --ignore-daemonsets',
      daemonSetPod,
      DEFAULT_DRAIN_FLAGS,
      { kind: 'refuse', note: { filter: 'daemonset', message: DRAIN_MESSAGES.daemonSetFatal, flag: '--ignore-daemonsets' } },
    ],
    [
      'a DaemonSet pod with --ignore-daemonsets',
      daemonSetPod,
      ALL_FLAGS,
      { kind: 'skip', note: { filter: 'daemonset', message: 'ignoring DaemonSet-managed Pods', flag: '--ignore-daemonsets' } },
    ],
    ['a finished DaemonSet pod', { ...daemonSetPod, phase: 'Succeeded' }, DEFAULT_DRAIN_FLAGS, { kind: 'evict', warnings: [] }],
    ['a mirror pod', mirrorPod, DEFAULT_DRAIN_FLAGS, { kind: 'skip', note: { filter: 'mirror', message: DRAIN_MESSAGES.mirrorPod } }],
    [
      'an emptyDir pod without --delete-emptydir-data',
      emptyDirPod,
      DEFAULT_DRAIN_FLAGS,
      { kind: 'refuse', note: { filter: 'local-storage', message: 'cannot delete Pods with local storage (use --delete-emptydir-data to override)', flag: '--delete-emptydir-data' } },
    ],
    // kubectl drops the local-storage warning when a later filter passes the pod (the kubectl drain e2e shows it).
    ['an emptyDir pod with --delete-emptydir-data', emptyDirPod, ALL_FLAGS, { kind: 'evict', warnings: [] }],
    ['a finished emptyDir pod', { ...emptyDirPod, phase: 'Failed' }, DEFAULT_DRAIN_FLAGS, { kind: 'evict', warnings: [] }],
    [
      'a pod without a controller, without --force',
      barePod,
      DEFAULT_DRAIN_FLAGS,
      { kind: 'refuse', note: { filter: 'unreplicated', message: 'cannot delete Pods that declare no controller (use --force to override)', flag: '--force' } },
    ],
    [
      'a pod without a controller, with --force',
      barePod,
      ALL_FLAGS,
      { kind: 'evict', warnings: [{ filter: 'unreplicated', message: 'deleting Pods that declare no controller', flag: '--force' }] },
    ],
    ['a finished pod without a controller', { ...barePod, phase: 'Succeeded' }, DEFAULT_DRAIN_FLAGS, { kind: 'evict', warnings: [] }],
  ])('%s', (_name, pod, flags, expected) => {
    expect(drainDisposition(pod, flags)).toEqual(expected);
  });

  it('runs the filters in kubectl order: the DaemonSet error wins over local storage', () => {
    const pod = { ...daemonSetPod, hasEmptyDir: true };
    expect(drainDisposition(pod, DEFAULT_DRAIN_FLAGS)).toMatchObject({ kind: 'refuse', note: { filter: 'daemonset' } });
    expect(drainDisposition(pod, { ...DEFAULT_DRAIN_FLAGS, ignoreDaemonSets: true })).toMatchObject({ kind: 'skip', note: { filter: 'daemonset' } });
  });

  it("keeps only the last filter's warning, as kubectl does, and stops at the first filter that refuses", () => {
    const pod = { ...barePod, hasEmptyDir: true };
    expect(drainDisposition(pod, { ...DEFAULT_DRAIN_FLAGS, deleteEmptyDirData: true })).toMatchObject({ kind: 'refuse', note: { filter: 'unreplicated' } });
    expect(drainDisposition(pod, ALL_FLAGS)).toEqual({ kind: 'evict', warnings: [expect.objectContaining({ filter: 'unreplicated' })] });
  });
});
