import type { EvictionAttempt, EvictionContext, PdbFacts, PodFacts, ReservationView, ScopeRef } from '../../domain';
import type { CelVariables } from '../cel';

/** What a rule reads about one eviction. */
export interface RuleInput {
  attempt: EvictionAttempt;
  pod: PodFacts;
  /** The PDBs that select the pod. */
  pdbs: readonly PdbFacts[];
  context: EvictionContext;
  /** Reservations read for this decision (none on a first look). */
  reservations: ReservationView;
  now: Date;
  /** The CEL variables, built on first use and shared by every CEL rule of the request. */
  celVariables(): CelVariables;
}

/** Why a rule does not pass. */
export interface Violation {
  /** One line, naming objects as namespace/name. */
  message: string;
  /** A few words for an admission warning (at most 120 characters with the policy name). */
  summary: string;
  /** What to do about it. */
  hint?: string;
  /** Waiting can fix it (a time window, a disruption rate): denied with 429, which drains retry. */
  retryable: boolean;
}

/**
 * A rule passes (undefined), is violated, or could not be evaluated (a CEL runtime error). A
 * counting rule that passes may claim a slot in a scope: the eviction, if allowed, must be
 * reserved there (reservation/).
 */
export type RuleOutcome = { violation: Violation } | { error: string } | { claim: ScopeRef } | undefined;
