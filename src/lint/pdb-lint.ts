// PDB lint: the budgets that will make an eviction fail or a drain hang, found before anyone drains.
// Pure: it reads a ClusterInventory (a live cluster, a snapshot or manifest files) and returns findings.
// The PDB admission guard runs the overlap and never-allows rules on one PDB being created.
import type { ClusterInventory } from '../cluster/inventory';
import type { PdbFacts, PodFacts, WorkloadFacts } from '../domain';
import { describeBudgetSpec, diagnoseNeverAllows, qualifiedName } from '../pdb/explain';
import { compileSelector, describeSelector, V1BETA1_MATCH_NONE_KEY } from '../pdb/selector';

export const SEVERITIES = ['error', 'warning', 'info'] as const;
export type Severity = (typeof SEVERITIES)[number];

export const LINT_CHECKS = {
  overlap: 'lint/overlapping-pdbs',
  neverAllows: 'lint/never-allows',
  selectsNothing: 'lint/selects-no-pods',
  unmanaged: 'lint/unmanaged-pods',
  invalidSelector: 'lint/invalid-selector',
  syncFailed: 'lint/sync-failed',
  legacySelector: 'lint/legacy-selector',
  noPdb: 'lint/no-pdb',
} as const;

export interface LintFinding {
  check: string;
  severity: Severity;
  /** The object the finding is about: PodDisruptionBudget, Deployment, StatefulSet or ReplicaSet. */
  kind: string;
  namespace: string;
  name: string;
  message: string;
  hint: string;
  /** Other PDBs involved (overlaps), as namespace/name. */
  pdbs?: string[];
  /** Pods (or, from manifests, workloads' pod templates) involved, as namespace/name. */
  pods?: string[];
}

/**
 * Something a PDB can select: a pod, or, for a workload none of whose pods are held (manifest
 * files, a workload scaled from 0), its pod template standing for its replicas.
 */
interface Member {
  /** "shop/web-1", or "pods of Deployment shop/web". */
  label: string;
  labels: Readonly<Record<string, string>>;
  /** The top controller, as Kind/name; undefined for a pod without a controller. */
  controller?: string;
  /** How many pods it stands for (a template: its workload's replicas). */
  pods: number;
  /** A workload's pod template rather than a pod that exists. */
  template: boolean;
  /** What the disruption controller can count for maxUnavailable and percentages (docs/eviction-semantics.md §5). */
  countable: 'yes' | 'no-controller' | 'no-scale';
}

/** Controllers whose replicas the disruption controller reads (finders, without the scale subresource). */
const SCALED_KINDS = new Set(['ReplicaSet', 'Deployment', 'StatefulSet', 'ReplicationController']);
/** Built-in controllers known to have no scale subresource. */
const UNSCALED_KINDS = new Set(['DaemonSet', 'Job', 'CronJob']);

const workloadKey = (kind: string, name: string) => `${kind}/${name}`;

/** The members of one namespace, and the workloads at the top of their controller chains. */
class NamespaceMembers {
  readonly members: Member[] = [];
  /** Top-level workloads (Deployments, StatefulSets, ReplicaSets no Deployment owns) and the members standing for them. */
  readonly workloads = new Map<string, { workload: WorkloadFacts; members: Member[] }>();

  constructor(namespace: string, inventory: ClusterInventory) {
    for (const workload of inventory.workloadsInNamespace(namespace)) {
      const ownedByDeployment = workload.kind === 'ReplicaSet' && workload.owner?.kind === 'Deployment';
      if (!ownedByDeployment) this.workloads.set(workloadKey(workload.kind, workload.name), { workload, members: [] });
    }
    // Finished pods are deleted without a PDB check, and a budget is not for them.
    for (const pod of inventory.podsInNamespace(namespace)) if (pod.phase !== 'Succeeded' && pod.phase !== 'Failed') this.addPod(pod, inventory);
    for (const [, entry] of this.workloads) {
      if (entry.members.length > 0) continue;
      const { workload } = entry;
      const member: Member = {
        label: `pods of ${workload.kind} ${namespace}/${workload.name}`,
        labels: workload.templateLabels,
        controller: workloadKey(workload.kind, workload.name),
        pods: workload.replicas,
        template: true,
        countable: 'yes',
      };
      entry.members.push(member);
      this.members.push(member);
    }
  }

  private addPod(pod: PodFacts, inventory: ClusterInventory): void {
    let controller = pod.owner;
    if (controller?.kind === 'ReplicaSet') {
      const replicaSet = inventory.workload('ReplicaSet', pod.namespace, controller.name);
      if (replicaSet?.owner?.kind === 'Deployment') controller = replicaSet.owner;
    }
    const member: Member = {
      label: qualifiedName(pod),
      labels: pod.labels,
      controller: controller ? workloadKey(controller.kind, controller.name) : undefined,
      pods: 1,
      template: false,
      countable: controller === undefined ? 'no-controller' : UNSCALED_KINDS.has(controller.kind) ? 'no-scale' : 'yes',
    };
    this.members.push(member);
    if (controller !== undefined) this.workloads.get(workloadKey(controller.kind, controller.name))?.members.push(member);
  }
}

/** The replicas a PDB is for: its workloads' spec.replicas, each counted once, plus pods no such workload owns. */
function expectedPods(selected: readonly Member[], members: NamespaceMembers): number {
  const counted = new Set<string>();
  let expected = 0;
  for (const member of selected) {
    const entry = member.controller === undefined ? undefined : members.workloads.get(member.controller);
    if (entry === undefined) {
      expected += member.pods;
    } else if (!counted.has(member.controller!)) {
      counted.add(member.controller!);
      expected += entry.workload.replicas;
    }
  }
  return expected;
}

function pdbFinding(pdb: PdbFacts, check: string, severity: Severity, message: string, hint: string, extra: Partial<LintFinding> = {}): LintFinding {
  return { check, severity, kind: 'PodDisruptionBudget', namespace: pdb.namespace, name: pdb.name, message, hint, ...extra };
}

const MAX_LISTED = 5;

function listed(names: readonly string[]): string {
  const shown = names.slice(0, MAX_LISTED).join(', ');
  return names.length > MAX_LISTED ? `${shown} and ${names.length - MAX_LISTED} more` : shown;
}

function isLegacyMatchNone(pdb: PdbFacts): boolean {
  return (pdb.selector?.matchExpressions ?? []).some((requirement) => requirement.key === V1BETA1_MATCH_NONE_KEY && requirement.operator === 'Exists');
}

function usesScaledBudget(pdb: PdbFacts): boolean {
  return pdb.maxUnavailable !== undefined || (typeof pdb.minAvailable === 'string' && pdb.minAvailable.endsWith('%'));
}

function neverAllowsFinding(pdb: PdbFacts, expected: number): LintFinding | undefined {
  const never = diagnoseNeverAllows(pdb, expected);
  if (never === undefined) return undefined;
  return pdbFinding(
    pdb,
    LINT_CHECKS.neverAllows,
    'error',
    `PDB ${qualifiedName(pdb)} (${describeBudgetSpec(pdb)}) can never allow a disruption: ${never.reason}. Every eviction of its pods gets 429 and kubectl drain retries forever.`,
    never.fix,
  );
}

/** Findings about one PDB on its own: selector, never-allows, nothing selected, unmanaged pods. */
function lintOnePdb(pdb: PdbFacts, selected: readonly Member[], members: NamespaceMembers): LintFinding[] {
  const name = qualifiedName(pdb);
  const compiled = compileSelector(pdb.selector);
  if (!compiled.valid) {
    return [
      pdbFinding(
        pdb,
        LINT_CHECKS.invalidSelector,
        'error',
        `PDB ${name} has an invalid selector (${compiled.error}): the eviction API skips it, so it protects no pods.`,
        'fix the selector so that it parses as a Kubernetes label selector',
      ),
    ];
  }
  if (isLegacyMatchNone(pdb)) {
    return [
      pdbFinding(
        pdb,
        LINT_CHECKS.legacySelector,
        'warning',
        `PDB ${name} has the legacy policy/v1beta1 empty selector (stored as ${V1BETA1_MATCH_NONE_KEY} Exists): it matches no pods and protects nothing.`,
        'replace it with a policy/v1 PDB whose selector names the pods to protect',
      ),
    ];
  }

  const findings: LintFinding[] = [];
  const syncFailed = pdb.status.conditions.find((condition) => condition.type === 'DisruptionAllowed' && condition.status === 'False' && condition.reason === 'SyncFailed');
  if (syncFailed !== undefined) {
    findings.push(
      pdbFinding(
        pdb,
        LINT_CHECKS.syncFailed,
        'error',
        `The disruption controller failed to sync PDB ${name} (SyncFailed: ${syncFailed.message || 'no message'}), so it allows no disruptions.`,
        'fix what the message names; a controller without a scale subresource needs an integer minAvailable instead of maxUnavailable or a percentage',
      ),
    );
  }
  if (selected.length === 0) {
    findings.push(
      pdbFinding(
        pdb,
        LINT_CHECKS.selectsNothing,
        'warning',
        pdb.selector === null
          ? `PDB ${name} has no selector; in policy/v1 a missing selector matches no pods, so it protects nothing.`
          : `PDB ${name} (selector ${describeSelector(pdb.selector)}) selects no pods that are running or pending, so it protects nothing.`,
        pdb.selector === null ? 'add spec.selector with the labels of the pods to protect' : "make the selector match the pods' labels, or delete the PDB",
      ),
    );
    return findings;
  }

  const never = neverAllowsFinding(pdb, expectedPods(selected, members));
  if (never !== undefined) findings.push(never);

  if (usesScaledBudget(pdb)) {
    const uncountable = selected.filter((member) => member.countable !== 'yes');
    if (uncountable.length > 0) {
      const all = uncountable.length === selected.length;
      findings.push(
        pdbFinding(
          pdb,
          LINT_CHECKS.unmanaged,
          all ? 'error' : 'warning',
          `PDB ${name} uses ${describeBudgetSpec(pdb)} over ${uncountable.length} pod(s) whose replicas the disruption controller cannot count ` +
            `(no controller, or a DaemonSet/Job without a scale subresource): ${listed(uncountable.map((member) => member.label))}. ` +
            (all ? 'It expects 0 pods or fails to sync, so it allows no disruptions.' : 'Its status may be wrong (UnmanagedPods / SyncFailed).'),
          'use an integer minAvailable for pods without a scalable controller, or select only Deployment/StatefulSet/ReplicaSet pods',
          { pods: uncountable.map((member) => member.label) },
        ),
      );
    }
  }
  return findings;
}

/** One finding per group of PDBs that select the same members, listing what they share. */
function overlapFindings(pdbs: readonly PdbFacts[], selections: ReadonlyMap<PdbFacts, readonly Member[]>): LintFinding[] {
  const owners = new Map<Member, PdbFacts[]>();
  for (const pdb of pdbs) {
    for (const member of selections.get(pdb) ?? []) owners.set(member, [...(owners.get(member) ?? []), pdb]);
  }
  const groups = new Map<string, { pdbs: PdbFacts[]; members: Member[] }>();
  for (const [member, selecting] of owners) {
    if (selecting.length < 2) continue;
    const sorted = [...selecting].sort((a, b) => a.name.localeCompare(b.name));
    const key = sorted.map((pdb) => pdb.name).join('\0');
    const group = groups.get(key) ?? { pdbs: sorted, members: [] };
    group.members.push(member);
    groups.set(key, group);
  }
  return [...groups.values()].map(({ pdbs: group, members }) => {
    const [first, ...others] = group;
    const names = group.map(qualifiedName);
    const shared = members.map((member) => member.label).sort();
    const podCount = members.reduce((sum, member) => sum + member.pods, 0);
    return pdbFinding(
      first,
      LINT_CHECKS.overlap,
      'error',
      `PDBs ${names.join(', ')} all select ${podCount} pod(s): ${listed(shared)}. The eviction API refuses each of them with a bare 500 ` +
        '("more than one PodDisruptionBudget"), so drains fail on them.',
      'make the selectors disjoint, or delete all but one of these PDBs',
      { pdbs: others.map(qualifiedName), pods: shared },
    );
  });
}

function noPdbFindings(members: NamespaceMembers, selections: ReadonlyMap<PdbFacts, readonly Member[]>): LintFinding[] {
  const covered = new Set<Member>([...selections.values()].flat());
  const findings: LintFinding[] = [];
  for (const { workload, members: own } of members.workloads.values()) {
    if (workload.replicas <= 1 || own.some((member) => covered.has(member))) continue;
    findings.push({
      check: LINT_CHECKS.noPdb,
      severity: 'info',
      kind: workload.kind,
      namespace: workload.namespace,
      name: workload.name,
      message: `${workload.kind} ${qualifiedName(workload)} runs ${workload.replicas} replicas and no PDB selects its pods: a drain may evict all of them at once.`,
      hint: 'add a PDB with maxUnavailable: 1 (or a minAvailable below the replica count)',
    });
  }
  return findings;
}

const SEVERITY_ORDER: Record<Severity, number> = { error: 0, warning: 1, info: 2 };

export function compareFindings(a: LintFinding, b: LintFinding): number {
  return (
    SEVERITY_ORDER[a.severity] - SEVERITY_ORDER[b.severity] ||
    a.namespace.localeCompare(b.namespace) ||
    a.kind.localeCompare(b.kind) ||
    a.name.localeCompare(b.name) ||
    a.check.localeCompare(b.check)
  );
}

function namespacesOf(inventory: ClusterInventory): string[] {
  const namespaces = new Set<string>();
  for (const pdb of inventory.pdbs()) namespaces.add(pdb.namespace);
  for (const workload of inventory.workloads()) namespaces.add(workload.namespace);
  return [...namespaces].sort();
}

function selectedMembers(pdb: PdbFacts, members: readonly Member[]): Member[] {
  const compiled = compileSelector(pdb.selector);
  return compiled.valid ? members.filter((member) => compiled.matches(member.labels)) : [];
}

/** The findings of one namespace: PDBs only ever select pods of their own namespace, so each namespace is linted on its own. */
function lintNamespace(namespace: string, inventory: ClusterInventory): LintFinding[] {
  const members = new NamespaceMembers(namespace, inventory);
  const pdbs = [...inventory.pdbsInNamespace(namespace)].sort((a, b) => a.name.localeCompare(b.name));
  const selections = new Map(pdbs.map((pdb) => [pdb, selectedMembers(pdb, members.members)] as const));
  const findings: LintFinding[] = [];
  for (const pdb of pdbs) findings.push(...lintOnePdb(pdb, selections.get(pdb)!, members));
  findings.push(...overlapFindings(pdbs, selections));
  findings.push(...noPdbFindings(members, selections));
  return findings;
}

/**
 * The findings namespace by namespace, unsorted, so that a caller that must not block for the
 * whole cluster (the webhook's continuous lint) can pause between namespaces.
 */
export function* lintByNamespace(inventory: ClusterInventory): Generator<LintFinding[]> {
  for (const namespace of namespacesOf(inventory)) yield lintNamespace(namespace, inventory);
}

/** Every finding for the PDBs and workloads of the inventory, worst first. */
export function lintInventory(inventory: ClusterInventory): LintFinding[] {
  return [...lintByNamespace(inventory)].flat().sort(compareFindings);
}

/**
 * What the PDB admission guard says about `candidate`, a PDB being created or updated: it would
 * overlap another PDB on pods that exist, or can never allow a disruption. Its own stored version
 * (same namespace and name, on UPDATE) is not "another PDB".
 */
export function lintCandidatePdb(candidate: PdbFacts, inventory: ClusterInventory): LintFinding[] {
  const members = new NamespaceMembers(candidate.namespace, inventory);
  const pods = members.members.filter((member) => !member.template);
  const selected = selectedMembers(candidate, pods);
  // maxUnavailable 0 and minAvailable 100% never allow one whatever the pods; an integer needs the count.
  const never = neverAllowsFinding(candidate, expectedPods(selected, members));
  const findings = never === undefined ? [] : [never];
  const others = inventory.pdbsInNamespace(candidate.namespace).filter((pdb) => pdb.name !== candidate.name);
  const selections = new Map<PdbFacts, readonly Member[]>([[candidate, selected], ...others.map((pdb) => [pdb, selectedMembers(pdb, selected)] as const)]);
  for (const finding of overlapFindings([candidate, ...others], selections)) {
    // Overlaps among the other PDBs alone are not this change's doing.
    if (finding.name === candidate.name || finding.pdbs?.includes(qualifiedName(candidate))) findings.push(finding);
  }
  return findings;
}

export function worstSeverity(findings: readonly LintFinding[]): Severity | undefined {
  return SEVERITIES.find((severity) => findings.some((finding) => finding.severity === severity));
}
