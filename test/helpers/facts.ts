// Trimmed domain objects for unit tests of the pure decision code.
import type { EvictionAttempt, EvictionFacts, PdbFacts, PdbStatus, PodFacts } from '../../src/domain';

export function podFacts(name: string, overrides: Partial<PodFacts> = {}): PodFacts {
  return {
    namespace: 'shop',
    name,
    uid: `${name}-uid`,
    labels: { app: 'web' },
    phase: 'Running',
    ready: true,
    deleting: false,
    nodeName: 'node-a',
    owner: { kind: 'ReplicaSet', name: 'web-7d9c5b7f6' },
    hasEmptyDir: false,
    annotations: {},
    ownerReferences: [],
    volumes: [],
    conditions: [],
    ...overrides,
  };
}

export function pdbFacts(name: string, overrides: Partial<Omit<PdbFacts, 'status'>> = {}, status: Partial<PdbStatus> = {}): PdbFacts {
  return {
    namespace: 'shop',
    name,
    generation: 1,
    selector: { matchLabels: { app: 'web' } },
    minAvailable: 2,
    ...overrides,
    status: {
      observedGeneration: 1,
      disruptionsAllowed: 1,
      currentHealthy: 3,
      desiredHealthy: 2,
      expectedPods: 3,
      disruptedPods: {},
      conditions: [],
      ...status,
    },
  };
}

export function attemptFor(podName: string, overrides: Partial<EvictionAttempt> = {}): EvictionAttempt {
  return {
    uid: 'uid-1',
    namespace: 'shop',
    podName,
    evictionVersion: 'policy/v1',
    requester: { username: 'kubernetes-admin', groups: ['system:authenticated'] },
    dryRun: false,
    ...overrides,
  };
}

export function factsFor(pod: PodFacts | undefined, pdbs: PdbFacts[], others: PodFacts[] = []): EvictionFacts {
  return { pod, pdbs, podsInNamespace: () => (pod ? [pod, ...others] : others), source: 'snapshot' };
}
