// Evaluates the EvictionPolicies and the protect annotation for one eviction and turns what they
// find into Findings for decide(). Pure: the clock comes in as `now`.
import { contextFromFacts } from '../cluster/context';
import type { Action, EvictionAttempt, EvictionFacts, Finding, ScopeRef } from '../domain';
import { clip, MAX_WARNING_LENGTH } from '../pdb/explain';
import { matchingPdbs, pdbBypassReason } from '../pdb/mirror';
import { ANNOTATION_PROTECT_CHECK, checkProtectAnnotation } from './annotation';
import type { CelVariables } from './cel';
import { appliesTo, namespaceLabels, selectsPod, subjectMatches } from './match';
import { checkCel } from './rules/cel';
import { NO_RESERVATIONS } from '../reservation/record';
import { checkMaxDisruptions, maxDisruptionsClaim } from './rules/max-disruptions';
import { checkMinReplicas } from './rules/min-replicas';
import { checkProtect } from './rules/protect';
import { checkRequirePdb } from './rules/require-pdb';
import type { RuleInput, RuleOutcome, Violation } from './rules/types';
import { checkWindow } from './rules/window';
import type { EvictionPolicy, PolicyAction, Rule } from './schema';
import { celVariables } from './variables';

/** `--mode`: the strongest action any policy may take, for a safe rollout. */
export const ENFORCEMENT_MODES = ['enforce', 'warn', 'audit'] as const;
export type EnforcementMode = (typeof ENFORCEMENT_MODES)[number];

export interface PolicyCheckOptions {
  now: Date;
  mode: EnforcementMode;
  /**
   * The live read that should have confirmed a denial from cached state failed with this error.
   * Denials of policies with failurePolicy: Ignore then let the eviction through with a warning.
   */
  unconfirmed?: string;
  /**
   * The reservation that the counting rules' claims need could not be read or written, with this
   * error. Those rules then deny (429, retry) under failurePolicy: Fail and warn under Ignore.
   */
  unreserved?: string;
}

/** A slot that a counting rule of a Deny policy needs in a scope before the eviction is allowed. */
export interface PolicyClaim {
  scope: ScopeRef;
  /** The rule's check id, policy/<name>/<rule>. */
  check: string;
}

export interface PolicyEvaluation {
  findings: Finding[];
  /**
   * The scopes whose counts the decision depends on and in which the pod does not hold a slot yet:
   * an allowed eviction is reserved there first (reservation/), so that evictions arriving at the
   * same time count it. Only Deny policies claim: a Warn or Audit policy counts the reservations
   * Deny policies made, and never writes.
   */
  claims: PolicyClaim[];
}

const ACTIONS: Record<PolicyAction, Action> = { Deny: 'deny', Warn: 'warn', Audit: 'audit' };
const STRENGTH: Record<Action, number> = { audit: 0, warn: 1, deny: 2 };
const MODE_CEILING: Record<EnforcementMode, Action> = { enforce: 'deny', warn: 'warn', audit: 'audit' };

const policyCheck = (policy: EvictionPolicy, rule: Rule) => `policy/${policy.name}/${rule.kind}`;

function checkRule(rule: Rule, input: RuleInput): RuleOutcome {
  const violated = (violation: Violation | undefined): RuleOutcome => (violation === undefined ? undefined : { violation });
  switch (rule.kind) {
    case 'protect':
      return violated(checkProtect(input));
    case 'window':
      return violated(checkWindow(rule, input));
    case 'maxDisruptions': {
      const violation = checkMaxDisruptions(rule, input);
      if (violation !== undefined) return { violation };
      const claim = maxDisruptionsClaim(rule, input);
      return claim === undefined ? undefined : { claim };
    }
    case 'minReplicas':
      return violated(checkMinReplicas(rule.replicas, input));
    case 'requirePDB':
      return violated(checkRequirePdb(input));
    case 'cel':
      return checkCel(rule, input);
  }
}

interface Source {
  check: string;
  /** Who speaks in a warning: `policy <name>`. */
  label: string;
  declared: Action;
  /** failurePolicy: Ignore: a denial whose cached state could not be confirmed lets the eviction through. */
  ignoresFailures: boolean;
}

const ANNOTATION_SOURCE: Source = { check: ANNOTATION_PROTECT_CHECK, label: 'eviction-guard', declared: 'deny', ignoresFailures: false };

function findingFor(source: Source, violation: Violation, options: PolicyCheckOptions): Finding {
  const { check, label, declared } = source;
  let action = STRENGTH[declared] > STRENGTH[MODE_CEILING[options.mode]] ? MODE_CEILING[options.mode] : declared;
  let message = violation.message;
  if (action !== declared) message += ` (${declared} lowered to ${action} by --mode ${options.mode})`;
  if (action === 'deny' && options.unconfirmed !== undefined && source.ignoresFailures) {
    action = 'warn';
    message += ` The cluster state behind it could not be confirmed live (${options.unconfirmed}); allowed (failurePolicy: Ignore).`;
  }
  const finding: Finding = { check, action, message, ...(violation.hint ? { hint: violation.hint } : {}) };
  if (action === 'deny') finding.code = violation.retryable ? 429 : 403;
  if (action === 'warn') finding.warning = clip(`${label}${declared === 'deny' ? ' would deny' : ''}: ${violation.summary}`, MAX_WARNING_LENGTH);
  return finding;
}

function failedRuleFinding(source: Source, error: string, options: PolicyCheckOptions): Finding {
  if (source.ignoresFailures) return { check: source.check, action: 'audit', message: `${error}; ignored (failurePolicy: Ignore).`, evaluationFailed: true };
  const violation: Violation = {
    message: `${error}; counted as a violation (failurePolicy: Fail).`,
    summary: 'its CEL rule could not be evaluated',
    hint: 'fix the expression, or set failurePolicy: Ignore',
    retryable: false,
  };
  return { ...findingFor(source, violation, options), evaluationFailed: true };
}

/** A counting rule's claim that could not be reserved: failurePolicy decides, as for a rule that could not be evaluated. */
function unreservedFinding(source: Source, error: string, options: PolicyCheckOptions): Finding {
  if (source.ignoresFailures) {
    const message = `This eviction counts toward the limit but could not be reserved (${error}); allowed without a reservation (failurePolicy: Ignore).`;
    if (MODE_CEILING[options.mode] === 'audit') return { check: source.check, action: 'audit', message };
    return { check: source.check, action: 'warn', message, warning: clip(`${source.label}: allowed without a reservation; concurrent evictions may exceed its limit`, MAX_WARNING_LENGTH) };
  }
  const violation: Violation = {
    message: `Could not reserve this eviction, which counts toward the limit (${error}); retry.`,
    summary: 'could not reserve; retry',
    hint: 'retry (kubectl drain retries on its own); if it persists, check that eviction-guard can read and write Leases in its namespace',
    retryable: true,
  };
  return findingFor(source, violation, options);
}

/** The findings of evaluatePolicies(), for callers that reserve nothing. */
export function policyFindings(policies: readonly EvictionPolicy[], attempt: EvictionAttempt, facts: EvictionFacts, options: PolicyCheckOptions): Finding[] {
  return evaluatePolicies(policies, attempt, facts, options).findings;
}

/**
 * The findings of every policy that selects the pod and applies to the requester, one per rule
 * that does not pass, after the protect annotation's, and the slots its counting rules claim.
 * Pods that are gone, finished or already terminating are not evaluated: evicting them disrupts
 * nothing, and blocking them would hang drains, which is why the API server lets them skip PDBs
 * too (docs/eviction-semantics.md §1).
 */
export function evaluatePolicies(policies: readonly EvictionPolicy[], attempt: EvictionAttempt, facts: EvictionFacts, options: PolicyCheckOptions): PolicyEvaluation {
  const { pod } = facts;
  if (pod === undefined) return { findings: [], claims: [] };
  const bypass = pdbBypassReason(pod);
  if (bypass === 'terminal' || bypass === 'deleting') return { findings: [], claims: [] };

  const context = facts.context ?? contextFromFacts(pod, facts);
  // No policy can select the pod (PolicyIndex): only the annotation can protect it, and none can exempt from it.
  if (policies.length === 0) {
    const protection = checkProtectAnnotation(pod, context.namespace);
    return { findings: protection === undefined ? [] : [findingFor(ANNOTATION_SOURCE, protection, options)], claims: [] };
  }
  const pdbs = matchingPdbs(pod, facts.pdbs);
  let variables: CelVariables | undefined;
  const input: RuleInput = {
    attempt,
    pod,
    pdbs,
    context,
    reservations: facts.reservations ?? NO_RESERVATIONS,
    now: options.now,
    celVariables: () => (variables ??= celVariables(attempt, pod, pdbs, context, options.now)),
  };
  const podNamespaceLabels = namespaceLabels(pod.namespace, context.namespace);
  const selecting = policies.filter((policy) => selectsPod(policy.match, pod, podNamespaceLabels));
  const findings: Finding[] = [];
  const claims: PolicyClaim[] = [];

  const protection = checkProtectAnnotation(pod, context.namespace);
  const isExempt = selecting.some((policy) => policy.exemptSubjects.some((subject) => subjectMatches(subject, attempt.requester)));
  if (protection !== undefined && !isExempt) findings.push(findingFor(ANNOTATION_SOURCE, protection, options));

  for (const policy of selecting) {
    if (!appliesTo(policy.match, attempt.requester)) continue;
    for (const rule of policy.rules) {
      const outcome = checkRule(rule, input);
      if (outcome === undefined) continue;
      const source: Source = {
        check: policyCheck(policy, rule),
        label: `policy ${policy.name}`,
        declared: ACTIONS[policy.action],
        ignoresFailures: policy.failurePolicy === 'Ignore',
      };
      if ('error' in outcome) {
        findings.push(failedRuleFinding(source, outcome.error, options));
        continue;
      }
      if ('claim' in outcome) {
        if (policy.action !== 'Deny') continue;
        if (options.unreserved === undefined) claims.push({ scope: outcome.claim, check: source.check });
        else findings.push(unreservedFinding(source, options.unreserved, options));
        continue;
      }
      const { violation } = outcome;
      findings.push(findingFor(source, policy.message ? { ...violation, message: `${violation.message} ${policy.message}` } : violation, options));
    }
  }
  return { findings, claims };
}
