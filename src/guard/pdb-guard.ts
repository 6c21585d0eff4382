// The PDB admission guard: a PodDisruptionBudget being created or updated is checked against the
// pods that exist now, with lint's rules, before it can make evictions fail. It warns (kubectl
// prints admission warnings) or, when set to, denies. Pure: the caller passes the inventory.
import type { DecodedPdbChange } from '../admission/decode';
import { Interner } from '../cluster/intern';
import type { ClusterInventory } from '../cluster/inventory';
import type { ClusterView } from '../cluster/view';
import { trimPdb } from '../cluster/trim';
import { combineFindings } from '../decide';
import type { Finding, PdbFacts, Verdict } from '../domain';
import { clip, describeBudgetSpec, MAX_WARNING_LENGTH, qualifiedName } from '../pdb/explain';
import { LINT_CHECKS, lintCandidatePdb, type LintFinding } from '../lint/pdb-lint';

export const PDB_GUARD_MODES = ['warn', 'deny', 'off'] as const;
export type PdbGuardMode = (typeof PDB_GUARD_MODES)[number];

export const PDB_GUARD_CHECK_PREFIX = 'pdb-guard/';

/** The PDBs a finding names besides the candidate. */
function otherPdbs(finding: LintFinding, candidate: PdbFacts): string[] {
  const own = qualifiedName(candidate);
  return [`${finding.namespace}/${finding.name}`, ...(finding.pdbs ?? [])].filter((name) => name !== own);
}

/** A warning of at most 120 characters, as kubectl prints it: "Warning: <text>". */
function shortWarning(finding: LintFinding, candidate: PdbFacts): string {
  const own = qualifiedName(candidate);
  if (finding.check === LINT_CHECKS.overlap) {
    const shared = finding.pods?.length ?? 0;
    return clip(`PDB ${own} overlaps ${otherPdbs(finding, candidate).join(', ')} on ${shared} pod(s); evicting them will fail (500)`, MAX_WARNING_LENGTH);
  }
  return clip(`PDB ${own} (${describeBudgetSpec(candidate)}) can never allow a disruption; drains of its pods will hang`, MAX_WARNING_LENGTH);
}

function guardFinding(finding: LintFinding, candidate: PdbFacts, mode: 'warn' | 'deny'): Finding {
  return {
    check: `${PDB_GUARD_CHECK_PREFIX}${finding.check.replace(/^lint\//, '')}`,
    action: mode,
    ...(mode === 'deny' ? { code: 403, reason: 'Forbidden' } : {}),
    message: finding.message,
    hint: finding.hint,
    warning: shortWarning(finding, candidate),
    pdbs: [qualifiedName(candidate), ...otherPdbs(finding, candidate)],
  };
}

/** The answer to a CREATE or UPDATE of `candidate`; allowed, with warnings, unless the mode is deny. */
export function guardPdbChange(candidate: PdbFacts, inventory: ClusterInventory, mode: 'warn' | 'deny'): Verdict {
  const findings = lintCandidatePdb(candidate, inventory).map((finding) => guardFinding(finding, candidate, mode));
  return combineFindings(findings, (denial) => `eviction-guard denied this PodDisruptionBudget (${denial.check}); --pdb-guard=deny is set.`);
}

/**
 * The PDB of an admission review as the guard checks it: request.namespace and the name filled in
 * (a CREATE may carry neither in the object), status dropped since a new spec has none yet.
 */
export function candidateOf(change: DecodedPdbChange): PdbFacts {
  const metadata = typeof change.object.metadata === 'object' && change.object.metadata !== null ? change.object.metadata : {};
  const trimmed = trimPdb({ ...change.object, metadata: { ...metadata, namespace: change.namespace, name: change.name }, status: undefined }, new Interner());
  // trimPdb fails only without a name, and the name is filled in above.
  if ('error' in trimmed) throw new Error(trimmed.error);
  return trimmed.facts;
}

const NOT_SYNCED = combineFindings([
  {
    check: `${PDB_GUARD_CHECK_PREFIX}not-synced`,
    action: 'warn',
    message: 'eviction-guard has not listed the cluster yet, so this PodDisruptionBudget was not checked for overlaps.',
    warning: 'eviction-guard has not listed the cluster yet; this PodDisruptionBudget was not checked',
  },
]);

/** The guard's answer to a decoded review, from the cluster as `view` holds it; unchecked until it has synced. */
export function reviewPdbChange(change: DecodedPdbChange, view: ClusterView, mode: 'warn' | 'deny'): Verdict {
  return view.isSynced() ? guardPdbChange(candidateOf(change), view.inventory(), mode) : NOT_SYNCED;
}
