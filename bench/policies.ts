// 100 EvictionPolicies for `npm run bench`, 20 of them CEL, written as files for `serve --policy`.
// Every policy matches the synthetic cluster's namespaces and passes, so all of them are evaluated
// on every eviction while the decisions (and the share of live confirms) stay those of the run
// without policies: the difference in throughput is the cost of the policy engine alone. The
// maxDisruptions policies warn: as Deny they would reserve every eviction they allow in a Lease,
// a write whose cost bench/reservations.ts measures on its own.
import { writeFileSync } from 'node:fs';
import path from 'node:path';

const TIME_ZONES = ['UTC', 'Europe/Berlin', 'America/New_York', 'Asia/Tokyo', 'Australia/Sydney'];

/**
 * Passing expressions over every variable. They say what the
 * short forms before the object shape said, so that the 100-policy figures stay comparable.
 */
const CEL_EXPRESSIONS = [
  'owner.replicas >= 1',
  'owner.readyReplicas - 1 >= 0',
  'pod.metadata.name.startsWith(owner.name)',
  'size(pdbs) <= 1',
  'pdbs.all(p, p.status.expectedPods >= 0)',
  '!has(pod.metadata.labels.protected)',
  'request.userInfo.username != ""',
  '"system:authenticated" in request.userInfo.groups',
  'now > timestamp("2020-01-01T00:00:00Z")',
  'now.getHours("Europe/Berlin") >= 0',
  'namespaceObject.metadata.name.startsWith("team-")',
  'node == null || node.metadata.name == pod.spec.nodeName || pod.status.phase == "Pending"',
  'object.apiVersion == "policy/v1"',
  '!request.dryRun || true',
  'pod.metadata.labels.tier == "backend" || !has(pod.metadata.labels.tier)',
  'pdbs.exists(p, p.metadata.name == pod.metadata.labels.app) || size(pdbs) == 0 || true',
  'owner.kind in ["ReplicaSet", "Deployment", "StatefulSet", "Pod"]',
  'int(owner.replicas) * 2 >= owner.readyReplicas',
  'pod.metadata.namespace == namespaceObject.metadata.name',
  'size(pod.metadata.labels) < 64',
];

function rules(index: number): unknown[] {
  if (index < 20) return [{ cel: { expression: CEL_EXPRESSIONS[index], message: `bench rule ${index}` } }];
  if (index < 40) return [{ window: { allow: ['00:00-24:00'], deny: ['Sun 03:00-03:01'], timeZone: TIME_ZONES[index % TIME_ZONES.length] } }];
  if (index < 55) return [{ maxDisruptions: { per: 'owner', count: '50%' } }];
  if (index < 65) return [{ maxDisruptions: { per: 'namespace', count: 50 } }];
  if (index < 70) return [{ maxDisruptions: { per: 'node', count: 100 } }];
  if (index < 85) return [{ minReplicas: 1 }];
  if (index < 95) return [{ requirePDB: true }];
  // Protects pods no bench pod is: matched, selected by nothing.
  return [{ protect: {} }];
}

function match(index: number): unknown {
  switch (index % 4) {
    case 0:
      return { namespaces: ['team-*'] };
    case 1:
      return { namespaceSelector: { matchExpressions: [{ key: 'kubernetes.io/metadata.name', operator: 'Exists' }] } };
    case 2:
      return { excludeSubjects: [{ kind: 'User', name: 'nobody' }] };
    default:
      return {};
  }
}

/** Writes the policies into `dir` as one file each; returns how many. */
export function writeBenchPolicies(dir: string): number {
  const count = 100;
  for (let index = 0; index < count; index++) {
    const name = `bench-${String(index).padStart(3, '0')}`;
    const policyRules = rules(index);
    const counts = policyRules.some((rule) => Object.hasOwn(rule as object, 'maxDisruptions'));
    const policy = {
      apiVersion: 'evictionguard.io/v1alpha1',
      kind: 'EvictionPolicy',
      metadata: { name },
      spec: { action: index % 10 === 9 || counts ? 'Warn' : 'Deny', match: index >= 95 ? { podSelector: { matchLabels: { app: 'not-in-the-bench' } } } : match(index), rules: policyRules },
    };
    writeFileSync(path.join(dir, `${name}.json`), JSON.stringify(policy));
  }
  return count;
}
