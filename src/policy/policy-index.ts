// The policies an eviction has to evaluate: only those whose match can select the pod. Policies
// are indexed by the namespaces their globs accept (worked out once per namespace) and by one
// label of their podSelector's matchLabels, so a request looks at the policies that can apply to
// its pod and not at every policy in force. The index only narrows: selectsPod() still decides.
import type { PodFacts } from '../domain';
import type { EvictionPolicy } from './schema';

/** Namespaces remembered before the memo starts afresh; a cluster has far fewer. */
const MAX_NAMESPACES = 10_000;

interface Indexed {
  policy: EvictionPolicy;
  /** Position in the policies' order, so that candidates keep it. */
  order: number;
}

/** The policies that accept one namespace, split by what their podSelector requires. */
interface NamespacePolicies {
  /** No matchLabels: any pod of the namespace may be selected. */
  anyPod: readonly Indexed[];
  /** The same policies, answered as they are when the pod's labels add none. */
  anyPodPolicies: readonly EvictionPolicy[];
  /** By `key=value`: a pod can be selected only if it carries that label. */
  byLabel: ReadonlyMap<string, readonly Indexed[]>;
}

const labelKey = (key: string, value: string) => `${key}=${value}`;

/** The label a pod must carry to be selected: the policy's first matchLabels entry, if any. */
function requiredLabel(policy: EvictionPolicy): string | undefined {
  const matchLabels = policy.match.podSelector?.matchLabels;
  if (matchLabels === undefined) return undefined;
  for (const key in matchLabels) return labelKey(key, matchLabels[key]);
  return undefined;
}

function acceptsNamespace(policy: EvictionPolicy, namespace: string): boolean {
  const globs = policy.match.namespaces;
  return globs === undefined || globs.some((glob) => glob.pattern.test(namespace));
}

export class PolicyIndex {
  private readonly indexed: readonly Indexed[];
  private byNamespace = new Map<string, NamespacePolicies>();

  /** `policies` in the order evaluation reports them (by name, from PolicyRegistry). */
  constructor(readonly policies: readonly EvictionPolicy[]) {
    this.indexed = policies.map((policy, order) => ({ policy, order }));
  }

  /** The policies whose namespaces and pod labels can select `pod`, in the policies' order. */
  candidates(pod: PodFacts): readonly EvictionPolicy[] {
    if (this.indexed.length === 0) return [];
    const { anyPod, anyPodPolicies, byLabel } = this.forNamespace(pod.namespace);
    let labelled: Indexed[] | undefined;
    if (byLabel.size > 0) {
      for (const key in pod.labels) {
        const matches = byLabel.get(labelKey(key, pod.labels[key]));
        if (matches !== undefined) (labelled ??= []).push(...matches);
      }
    }
    if (labelled === undefined) return anyPodPolicies;
    return [...anyPod, ...labelled].sort((a, b) => a.order - b.order).map((entry) => entry.policy);
  }

  private forNamespace(namespace: string): NamespacePolicies {
    let entry = this.byNamespace.get(namespace);
    if (entry !== undefined) return entry;
    const anyPod: Indexed[] = [];
    const byLabel = new Map<string, Indexed[]>();
    for (const indexed of this.indexed) {
      if (!acceptsNamespace(indexed.policy, namespace)) continue;
      const label = requiredLabel(indexed.policy);
      if (label === undefined) {
        anyPod.push(indexed);
        continue;
      }
      const policies = byLabel.get(label);
      if (policies === undefined) byLabel.set(label, [indexed]);
      else policies.push(indexed);
    }
    entry = { anyPod, anyPodPolicies: anyPod.map((indexed) => indexed.policy), byLabel };
    if (this.byNamespace.size >= MAX_NAMESPACES) this.byNamespace = new Map();
    this.byNamespace.set(namespace, entry);
    return entry;
  }
}
