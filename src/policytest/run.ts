// Runs the cases of EvictionPolicyTest suites through the webhook's own decision path:
// evaluateEviction() over the suite's cluster, with its policies loaded as `serve --policy` loads
// them, at the suite's fixed time, reserving into an empty in-memory store. Nothing here decides an
// eviction; it only compares the webhook's answer with what the case expects.
import type { Logger } from '../audit/logger';
import { SnapshotClusterView, SnapshotError } from '../cluster/snapshot';
import { decisiveDenial } from '../decide';
import type { EvictionAttempt, Verdict } from '../domain';
import { evaluateEviction } from '../evaluate';
import { clip } from '../pdb/explain';
import { loadPolicyFiles, type PolicyDocument } from '../policy/load';
import { PolicyRegistry } from '../policy/registry';
import { registryPolicyCheck } from '../policy/service';
import { DEFAULT_RESERVATION_TTL_MS } from '../reservation/record';
import { Reserver } from '../reservation/reserver';
import { MemoryReservationStore } from '../reservation/store';
import type { Expectation, PolicyTestSuite, SuiteError, TestCase } from './suite';

/** The webhook's answer to a case, in the terms a case expects. */
export interface CaseOutcome {
  allowed: boolean;
  code?: number;
  /** The check that decided the denial. */
  check?: string;
  message?: string;
  warnings: string[];
}

export interface CaseResult {
  suite: string;
  file: string;
  case: string;
  pod: string;
  passed: boolean;
  /** How the answer differs from the expectation, one sentence each; empty when it passed. */
  failures: string[];
  expected: Expectation;
  got: CaseOutcome;
}

/** A suite with its cluster and policies loaded, ready to run. */
export interface LoadedSuite {
  suite: PolicyTestSuite;
  cluster: SnapshotClusterView;
  registry: PolicyRegistry;
}

/** Groups of the requester when a case names none: every authenticated user has this one. */
const DEFAULT_GROUPS = ['system:authenticated'];
/** `by` of the reservations the cases' evictions write. */
const RESERVER_INSTANCE = 'eviction-guard-test';

function loadCluster(suite: PolicyTestSuite): SnapshotClusterView | SuiteError {
  const { cluster, file, origin } = suite;
  try {
    if ('snapshot' in cluster) return SnapshotClusterView.fromFile(cluster.snapshot);
    return SnapshotClusterView.fromObjects(file, cluster.objects, (index) => `cluster.objects[${index}]`);
  } catch (error) {
    if (!(error instanceof SnapshotError)) throw error;
    return 'snapshot' in cluster ? `${origin}: cluster.snapshot: ${error.message}` : `${origin}: ${error.problem}`;
  }
}

/** The suite's policies in a registry, as the webhook holds them; any policy it would leave out is an error. */
function loadPolicies(suite: PolicyTestSuite, logger: Logger): PolicyRegistry | SuiteError[] {
  const { origin } = suite;
  const errors: SuiteError[] = [];
  const documents: PolicyDocument[] = [];
  const fieldOf = new Map<string, string>();
  suite.policies.forEach((policyPath, index) => {
    const field = `policies[${index}]`;
    const loaded = loadPolicyFiles([policyPath]);
    errors.push(...loaded.errors.map((error) => `${origin}: ${field}: ${error.message}`));
    if (loaded.errors.length === 0 && loaded.documents.length === 0) errors.push(`${origin}: ${field}: ${policyPath} holds no EvictionPolicy`);
    for (const document of loaded.documents) fieldOf.set(document.origin, field);
    documents.push(...loaded.documents);
  });
  const registry = new PolicyRegistry(logger);
  registry.update('files', { documents, errors: [] });
  for (const error of registry.status().errors) errors.push(`${origin}: ${fieldOf.get(error.origin) ?? 'policies'}: ${error.message}`);
  return errors.length > 0 ? errors : registry;
}

/** Loads what a suite names and checks that its cases' pods exist; errors name the suite's file and field. */
export async function loadSuite(suite: PolicyTestSuite, logger: Logger): Promise<LoadedSuite | SuiteError[]> {
  const registry = loadPolicies(suite, logger);
  const cluster = loadCluster(suite);
  const errors = Array.isArray(registry) ? [...registry] : [];
  if (typeof cluster === 'string') return [...errors, cluster];
  for (const [index, testCase] of suite.cases.entries()) {
    const [namespace, name] = testCase.pod.split('/');
    if ((await cluster.facts(namespace, name)).pod === undefined) {
      errors.push(`${suite.origin}: cases[${index}].pod: ${testCase.pod} is not a pod of the suite's cluster`);
    }
  }
  return errors.length > 0 || Array.isArray(registry) ? errors : { suite, cluster, registry };
}

function outcomeOf(verdict: Verdict): CaseOutcome {
  if (verdict.allowed) return { allowed: true, warnings: verdict.warnings };
  const denial = decisiveDenial(verdict.findings.filter((finding) => finding.action === 'deny'));
  return { allowed: false, code: verdict.status?.code, check: denial?.check, message: verdict.status?.message, warnings: verdict.warnings };
}

function describeOutcome(got: CaseOutcome): string {
  return got.allowed ? 'allowed' : `denied ${got.code} by ${got.check}`;
}

const quoted = (text: string) => JSON.stringify(clip(text, 200));

/** How `got` differs from `expected`, one sentence each. */
export function compareOutcome(expected: Expectation, got: CaseOutcome): string[] {
  if (expected.allowed !== got.allowed) return [`expected ${expected.allowed ? 'allowed' : 'denied'}, got ${describeOutcome(got)}`];
  const failures: string[] = [];
  if (expected.code !== undefined && expected.code !== got.code) failures.push(`expected code ${expected.code}, got ${describeOutcome(got)}`);
  if (expected.check !== undefined && expected.check !== got.check) failures.push(`expected check ${expected.check}, got ${describeOutcome(got)}`);
  if (expected.message !== undefined && !(got.message ?? '').includes(expected.message)) {
    failures.push(`expected a message containing ${quoted(expected.message)}, got ${quoted(got.message ?? '')}`);
  }
  if (expected.warning !== undefined && !got.warnings.some((warning) => warning.includes(expected.warning!))) {
    failures.push(`expected a warning containing ${quoted(expected.warning)}, got ${got.warnings.length === 0 ? 'no warnings' : got.warnings.map(quoted).join(', ')}`);
  }
  return failures;
}

async function runCase({ suite, cluster, registry }: LoadedSuite, testCase: TestCase, index: number): Promise<CaseResult> {
  const [namespace, podName] = testCase.pod.split('/');
  const now = testCase.now ?? suite.now;
  const attempt: EvictionAttempt = {
    uid: `${suite.name}-${index}`,
    namespace,
    podName,
    evictionVersion: 'policy/v1',
    requester: { username: testCase.user, groups: testCase.groups ?? DEFAULT_GROUPS },
    dryRun: testCase.dryRun ?? false,
  };
  // A fresh store per case: every case starts with no evictions under way.
  const reserver = new Reserver({ store: new MemoryReservationStore(), ttlMs: DEFAULT_RESERVATION_TTL_MS, instance: RESERVER_INSTANCE, now: () => now.getTime() });
  const { verdict } = await evaluateEviction(attempt, cluster, registryPolicyCheck(registry, 'enforce', () => now), { reserver });
  const got = outcomeOf(verdict);
  const failures = compareOutcome(testCase.expect, got);
  return { suite: suite.name, file: suite.file, case: testCase.name, pod: testCase.pod, passed: failures.length === 0, failures, expected: testCase.expect, got };
}

/** Every case of a loaded suite, in order. */
export async function runSuite(loaded: LoadedSuite): Promise<CaseResult[]> {
  const results: CaseResult[] = [];
  for (const [index, testCase] of loaded.suite.cases.entries()) results.push(await runCase(loaded, testCase, index));
  return results;
}
