// The one place that turns findings into an answer: allow or deny, the HTTP code, the message
// layout, warnings and audit annotations. Pure: no I/O and no clock.
import type { EvictionAttempt, EvictionFacts, Finding, Verdict } from './domain';
import { clip, explainMirror, MAX_WARNING_LENGTH } from './pdb/explain';
import { mirrorEviction } from './pdb/mirror';

export interface DecideOptions {
  /**
   * The live read that should have confirmed a deny from cached state failed with this error.
   * Mirror denials then fail open: the API server still applies the real budget check.
   */
  confirmFailed?: string;
  /** Findings of other checks (policies), combined with the mirror's. */
  extraFindings?: readonly Finding[];
}

/** "about 1 KB" (design.md): the API server prefixes it, and kubectl prints it on every retry. */
export const MAX_MESSAGE_BYTES = 1024;
export const MAX_WARNINGS = 5;

export const CLUSTER_UNAVAILABLE_CHECK = 'cluster/unavailable';
export const UNCONFIRMED_CHECK = 'cluster/unconfirmed';

/** What the API server will answer for this eviction, explained, combined with any other findings. */
export function decide(attempt: EvictionAttempt, facts: EvictionFacts, options: DecideOptions = {}): Verdict {
  let mirrorFinding = explainMirror(mirrorEviction(facts.pod, facts.pdbs), facts.podsInNamespace);
  if (options.confirmFailed !== undefined && mirrorFinding.action === 'deny') {
    mirrorFinding = failOpenFinding(mirrorFinding, options.confirmFailed);
  }
  return combineFindings([mirrorFinding, ...(options.extraFindings ?? [])]);
}

/** The cluster could not be read at all: allow, and say so. */
export function failOpenVerdict(reason: string): Verdict {
  return combineFindings([
    {
      check: CLUSTER_UNAVAILABLE_CHECK,
      action: 'warn',
      message: `eviction-guard could not read the cluster (${reason}); allowed, the API server still enforces PDBs.`,
      warning: 'eviction-guard could not read the cluster and allowed this eviction; the API server still enforces PDBs',
    },
  ]);
}

function failOpenFinding(denial: Finding, error: string): Finding {
  return {
    check: UNCONFIRMED_CHECK,
    action: 'warn',
    message: `Cached state said ${denial.check} would deny (${denial.message}) but the live read to confirm it failed (${error}); allowed, the API server still enforces PDBs.`,
    warning: clip(`eviction-guard could not confirm a ${denial.check} denial and allowed it; the API server still checks PDBs`, MAX_WARNING_LENGTH),
    pdbs: denial.pdbs,
  };
}

/**
 * A non-retryable denial (403, 500) wins over a retryable 429: answering 429 would make kubectl
 * drain retry forever for something waiting cannot fix (docs/eviction-semantics.md §7). Ties go to the
 * first finding, and the mirror's finding comes first.
 */
export function decisiveDenial(denials: readonly Finding[]): Finding | undefined {
  return denials.find((finding) => (finding.code ?? 403) !== 429) ?? denials[0];
}

/**
 * The first line of a denial the API server would not make itself (a policy): who denied, and
 * whether retrying helps, since kubectl drain retries only 429 (docs/eviction-semantics.md §7). The
 * finding's own line follows, so the headline does not repeat it.
 */
function ownDenialHeadline(denial: Finding, code: number): string {
  return code === 429
    ? `eviction-guard blocked this eviction for now (${denial.check}); retrying later can succeed.`
    : `eviction-guard denied this eviction (${denial.check}); retrying will not help.`;
}

function findingLine(finding: Finding): string {
  return `[${finding.check}] ${finding.message}${finding.hint ? ` Fix: ${finding.hint}.` : ''}`;
}

/** First line: what the API server would answer. Then one line per finding that denies or warns. */
function layoutMessage(first: string, findings: readonly Finding[]): string {
  const lines = [first, ...findings.filter((f) => f.action !== 'audit').map(findingLine)];
  let message = '';
  for (const line of lines) {
    const next = message === '' ? line : `${message}\n${line}`;
    if (Buffer.byteLength(next) > MAX_MESSAGE_BYTES) {
      const room = MAX_MESSAGE_BYTES - Buffer.byteLength(message) - 1;
      if (room > 40) message = `${message}\n${clipBytes(line, room)}`;
      break;
    }
    message = next;
  }
  return message;
}

function clipBytes(text: string, maxBytes: number): string {
  let clipped = text;
  while (Buffer.byteLength(clipped) > maxBytes - 3) clipped = clipped.slice(0, -1);
  return `${clipped}…`;
}

/** The first line of a denial no upstream message covers (ownDenialHeadline for evictions). */
export type DenialHeadline = (denial: Finding, code: number) => string;

export function combineFindings(findings: readonly Finding[], headline: DenialHeadline = ownDenialHeadline): Verdict {
  // One pass and no intermediate arrays: this runs on every eviction, usually over one finding.
  const pdbs: string[] = [];
  const warnings: string[] = [];
  let checks = '';
  let denials: Finding[] | undefined;
  for (let index = 0; index < findings.length; index++) {
    const finding = findings[index];
    checks = index === 0 ? finding.check : `${checks},${finding.check}`;
    for (const pdb of finding.pdbs ?? []) if (!pdbs.includes(pdb)) pdbs.push(pdb);
    if (finding.warning) {
      const warning = clip(finding.warning, MAX_WARNING_LENGTH);
      if (warnings.length < MAX_WARNINGS && !warnings.includes(warning)) warnings.push(warning);
    }
    if (finding.action === 'deny') (denials ??= []).push(finding);
  }
  const denial = denials === undefined ? undefined : decisiveDenial(denials);
  const auditAnnotations: Record<string, string> = { decision: denial ? 'deny' : 'allow', checks };
  if (pdbs.length > 0) auditAnnotations.pdbs = pdbs.join(',');

  if (denial === undefined) return { allowed: true, warnings, auditAnnotations, findings: [...findings], pdbs };

  const code = denial.code ?? 403;
  auditAnnotations.code = String(code);
  const ordered = [denial, ...findings.filter((finding) => finding !== denial)];
  const hasDetails = denial.retryAfterSeconds !== undefined || (denial.causes?.length ?? 0) > 0;
  return {
    allowed: false,
    status: {
      code,
      reason: denial.reason ?? (code === 429 ? 'TooManyRequests' : 'Forbidden'),
      message: layoutMessage(denial.upstreamMessage ?? headline(denial, code), ordered),
      ...(hasDetails ? { details: { retryAfterSeconds: denial.retryAfterSeconds, causes: denial.causes } } : {}),
    },
    warnings,
    auditAnnotations,
    findings: [...findings],
    pdbs,
  };
}
