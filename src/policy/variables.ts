// The variables of policy CEL expressions, built from the facts of one eviction.
import { timestampFromDate } from '@bufbuild/protobuf/wkt';
import type { EvictionAttempt, EvictionContext, PdbFacts, PodFacts } from '../domain';
import { toCelValue, type CelVariables } from './cel';
import { namespaceLabels } from './match';

function pdbVariable(pdb: PdbFacts) {
  const { status } = pdb;
  return {
    name: pdb.name,
    namespace: pdb.namespace,
    generation: pdb.generation,
    minAvailable: pdb.minAvailable,
    maxUnavailable: pdb.maxUnavailable,
    unhealthyPodEvictionPolicy: pdb.unhealthyPodEvictionPolicy,
    status: {
      observedGeneration: status.observedGeneration,
      disruptionsAllowed: status.disruptionsAllowed,
      currentHealthy: status.currentHealthy,
      desiredHealthy: status.desiredHealthy,
      expectedPods: status.expectedPods,
      disruptedPods: status.disruptedPods,
    },
  };
}

/** pod, eviction, request, namespaceObject, pdbs (those selecting the pod), owner, node and now. */
export function celVariables(attempt: EvictionAttempt, pod: PodFacts, pdbs: readonly PdbFacts[], context: EvictionContext, now: Date): CelVariables {
  const { owner, namespace } = context;
  return {
    pod: toCelValue({
      name: pod.name,
      namespace: pod.namespace,
      uid: pod.uid,
      labels: pod.labels,
      annotations: pod.annotations,
      phase: pod.phase,
      ready: pod.ready,
      nodeName: pod.nodeName,
      hasEmptyDir: pod.hasEmptyDir,
      controller: pod.owner === undefined ? undefined : { kind: pod.owner.kind, name: pod.owner.name },
    }),
    eviction: toCelValue({
      name: attempt.podName,
      namespace: attempt.namespace,
      apiVersion: attempt.evictionVersion,
      gracePeriodSeconds: attempt.gracePeriodSeconds,
    }),
    request: toCelValue({
      userInfo: { username: attempt.requester.username, uid: attempt.requester.uid, groups: attempt.requester.groups },
      dryRun: attempt.dryRun,
    }),
    namespaceObject: toCelValue({
      name: pod.namespace,
      labels: namespaceLabels(pod.namespace, namespace),
      annotations: namespace?.annotations ?? {},
    }),
    pdbs: toCelValue(pdbs.map(pdbVariable)),
    owner: toCelValue({ kind: owner.kind, name: owner.name, replicas: owner.replicas, readyReplicas: owner.readyReplicas }),
    node: toCelValue({ name: pod.nodeName ?? '' }),
    now: timestampFromDate(now),
  };
}
