// The EvictionPolicy resource (evictionguard.io/v1alpha1), validated with zod. Parsing also
// compiles what a policy needs at evaluation time: namespace globs, label selectors, time ranges
// and CEL programs. manifests/ holds the CRD with the same schema in OpenAPI form.
import { z } from 'zod';
import type { DisruptionScope, LabelSelector } from '../domain';
import { compileSelector } from '../pdb/selector';
import { compileCel, type CelProgram } from './cel';
import { isTimeZone, parseTimeRange, type TimeRange } from './window';

export const POLICY_API_VERSION = 'evictionguard.io/v1alpha1';
export const POLICY_KIND = 'EvictionPolicy';
/** Longest spec.message and cel message: they end up in a denial message kept under 1 KB. */
const MAX_MESSAGE_LENGTH = 300;

export const RULE_KINDS = ['protect', 'window', 'maxDisruptions', 'minReplicas', 'requirePDB', 'cel'] as const;
export type RuleKind = (typeof RULE_KINDS)[number];
export const POLICY_ACTIONS = ['Deny', 'Warn', 'Audit'] as const;
export const FAILURE_POLICIES = ['Fail', 'Ignore'] as const;
export const SUBJECT_KINDS = ['User', 'Group', 'ServiceAccount'] as const;
export const DISRUPTION_SCOPES = ['owner', 'namespace', 'node'] as const;

const DNS_SUBDOMAIN = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;
const NAMESPACE_GLOB = /^[a-z0-9*?-]+$/;

const nonEmpty = z.string().min(1, { error: 'must not be empty' });

export type Subject = { kind: 'User' | 'Group'; name: string } | { kind: 'ServiceAccount'; namespace: string; name: string };

const subjectSchema = z
  .strictObject({
    kind: z.enum(SUBJECT_KINDS, { error: 'must be User, Group or ServiceAccount' }),
    name: nonEmpty,
    namespace: nonEmpty.optional(),
  })
  .transform((subject, context): Subject => {
    if (subject.kind === 'ServiceAccount') {
      if (subject.namespace !== undefined) return { kind: 'ServiceAccount', namespace: subject.namespace, name: subject.name };
      context.addIssue({ code: 'custom', path: ['namespace'], message: 'a ServiceAccount subject needs its namespace' });
    } else if (subject.namespace !== undefined) {
      context.addIssue({ code: 'custom', path: ['namespace'], message: `only ServiceAccount subjects have a namespace; a ${subject.kind} is cluster-wide` });
    }
    return { kind: subject.kind as 'User' | 'Group', name: subject.name };
  });

/** `*` matches any run of characters and `?` one character; anchored at both ends. */
export interface NamespaceGlob {
  text: string;
  pattern: RegExp;
}

const namespaceGlobSchema = z.string().transform((text, context): NamespaceGlob => {
  if (!NAMESPACE_GLOB.test(text)) {
    context.addIssue({ code: 'custom', message: `"${text}" is not a namespace name or glob (a-z, 0-9, -, and the wildcards * and ?)` });
    return z.NEVER;
  }
  const pattern = new RegExp(`^${text.replaceAll('*', '.*').replaceAll('?', '.')}$`);
  return { text, pattern };
});

const labelSelectorSchema = z
  .strictObject({
    matchLabels: z.record(z.string(), z.string()).optional(),
    matchExpressions: z
      .array(
        z.strictObject({
          key: z.string(),
          operator: z.enum(['In', 'NotIn', 'Exists', 'DoesNotExist'], { error: 'must be In, NotIn, Exists or DoesNotExist' }),
          values: z.array(z.string()).optional(),
        }),
      )
      .optional(),
  })
  .superRefine((selector, context) => {
    const compiled = compileSelector(selector);
    if (!compiled.valid) context.addIssue({ code: 'custom', message: compiled.error });
  });

export interface PolicyMatch {
  namespaces?: NamespaceGlob[];
  namespaceSelector?: LabelSelector;
  podSelector?: LabelSelector;
  subjects?: Subject[];
  excludeSubjects?: Subject[];
}

const matchSchema = z.strictObject({
  namespaces: z.array(namespaceGlobSchema).min(1, { error: 'list at least one namespace, or leave namespaces out to match all' }).optional(),
  namespaceSelector: labelSelectorSchema.optional(),
  podSelector: labelSelectorSchema.optional(),
  subjects: z.array(subjectSchema).min(1, { error: 'list at least one subject, or leave subjects out to match everyone' }).optional(),
  excludeSubjects: z.array(subjectSchema).optional(),
});

const timeRangeSchema = z.string().transform((text, context): TimeRange => {
  const range = parseTimeRange(text);
  if (typeof range === 'string') {
    context.addIssue({ code: 'custom', message: range });
    return z.NEVER;
  }
  return range;
});

const celSchema = z.string().transform((source, context): CelProgram => {
  const program = compileCel(source);
  if ('error' in program) {
    context.addIssue({ code: 'custom', message: `CEL: ${program.error}` });
    return z.NEVER;
  }
  return program;
});

export interface WindowRule {
  kind: 'window';
  allow?: TimeRange[];
  deny?: TimeRange[];
  timeZone: string;
}

/** maxDisruptions.count: a number of pods, or a percentage of the pods in scope. */
export type DisruptionLimit = { pods: number } | { percent: number };

export interface MaxDisruptionsRule {
  kind: 'maxDisruptions';
  per: DisruptionScope;
  limit: DisruptionLimit;
  /** As written, for messages: 1 or "10%". */
  count: number | string;
}

export interface CelRule {
  kind: 'cel';
  expression: CelProgram;
  message?: string;
  messageExpression?: CelProgram;
}

export type Rule =
  | { kind: 'protect' }
  | WindowRule
  | MaxDisruptionsRule
  | { kind: 'minReplicas'; replicas: number }
  | { kind: 'requirePDB' }
  | CelRule;

const DISRUPTION_COUNT_ERROR = 'must be a whole number of pods (at least 1) or a percentage from 1% to 100%';
const MIN_REPLICAS_ERROR = 'must be a whole number of replicas, at least 1';

const ruleKindSchemas = {
  protect: z.strictObject({}),
  window: z
    .strictObject({
      allow: z.array(timeRangeSchema).min(1).optional(),
      deny: z.array(timeRangeSchema).min(1).optional(),
      timeZone: z.string({ error: 'give an IANA time zone such as Europe/Berlin or UTC' }).refine(isTimeZone, {
        error: (issue) => `"${String(issue.input)}" is not an IANA time zone (such as Europe/Berlin, America/New_York or UTC)`,
      }),
    })
    .refine((window) => window.allow !== undefined || window.deny !== undefined, { error: 'give allow or deny time ranges (or both)' }),
  maxDisruptions: z.strictObject({
    per: z.enum(DISRUPTION_SCOPES, { error: 'must be owner, namespace or node' }),
    count: z
      .union([z.number(), z.string()], { error: DISRUPTION_COUNT_ERROR })
      .refine((count) => (typeof count === 'number' ? Number.isInteger(count) && count >= 1 : /^([1-9]\d?|100)%$/.test(count)), {
        error: DISRUPTION_COUNT_ERROR,
      }),
  }),
  minReplicas: z.number({ error: MIN_REPLICAS_ERROR }).int({ error: MIN_REPLICAS_ERROR }).min(1, { error: MIN_REPLICAS_ERROR }),
  requirePDB: z.literal(true, { error: 'takes true (remove the rule to turn it off)' }),
  cel: z.strictObject({
    expression: celSchema,
    message: z.string().min(1).max(MAX_MESSAGE_LENGTH).optional(),
    messageExpression: celSchema.optional(),
  }),
};

const ruleSchema = z.strictObject(Object.fromEntries(RULE_KINDS.map((kind) => [kind, ruleKindSchemas[kind].optional()])) as {
  [K in RuleKind]: z.ZodOptional<(typeof ruleKindSchemas)[K]>;
});

function toRule(entry: z.output<typeof ruleSchema>, context: z.RefinementCtx): Rule {
  const kinds = RULE_KINDS.filter((kind) => entry[kind] !== undefined);
  if (kinds.length !== 1) {
    context.addIssue({
      code: 'custom',
      message: kinds.length === 0 ? `a rule needs one of ${RULE_KINDS.join(', ')}` : `a rule holds one kind, found ${kinds.join(' and ')}: make them separate rules`,
    });
    return z.NEVER;
  }
  if (entry.window) return { kind: 'window', ...entry.window };
  if (entry.maxDisruptions) {
    const { per, count } = entry.maxDisruptions;
    const limit = typeof count === 'number' ? { pods: count } : { percent: Number(count.slice(0, -1)) };
    return { kind: 'maxDisruptions', per, limit, count };
  }
  if (entry.minReplicas !== undefined) return { kind: 'minReplicas', replicas: entry.minReplicas };
  if (entry.requirePDB) return { kind: 'requirePDB' };
  if (entry.cel) return { kind: 'cel', ...entry.cel };
  return { kind: 'protect' };
}

const specSchema = z
  .strictObject({
    action: z.enum(POLICY_ACTIONS, { error: 'must be Deny, Warn or Audit' }).default('Deny'),
    failurePolicy: z.enum(FAILURE_POLICIES, { error: 'must be Fail or Ignore' }).default('Fail'),
    match: matchSchema.prefault({}),
    rules: z.array(ruleSchema.transform(toRule)).default([]),
    annotationProtection: z.strictObject({ exemptSubjects: z.array(subjectSchema).min(1) }).optional(),
    message: z.string().min(1).max(MAX_MESSAGE_LENGTH).optional(),
  })
  .superRefine((spec, context) => {
    if (spec.rules.length === 0 && spec.annotationProtection === undefined) {
      context.addIssue({ code: 'custom', path: ['rules'], message: 'a policy needs at least one rule (or annotationProtection.exemptSubjects)' });
    }
    const seen = new Map<RuleKind, number>();
    spec.rules.forEach((rule, index) => {
      const first = seen.get(rule.kind);
      if (first !== undefined) {
        context.addIssue({
          code: 'custom',
          path: ['rules', index],
          message: `${rule.kind} is already rules[${first}]: a policy holds each rule kind once, so that check ids stay unique; write a second policy`,
        });
      }
      seen.set(rule.kind, first ?? index);
    });
  });

const documentSchema = z.object({
  apiVersion: z.literal(POLICY_API_VERSION, { error: `must be ${POLICY_API_VERSION}` }),
  kind: z.literal(POLICY_KIND, { error: `must be ${POLICY_KIND}` }),
  metadata: z.object({
    name: z
      .string({ error: 'a policy needs a name' })
      .max(253)
      .regex(DNS_SUBDOMAIN, { error: 'must be a DNS subdomain name: lower-case letters, digits, - and .' }),
  }),
  spec: specSchema,
});

export type PolicyAction = (typeof POLICY_ACTIONS)[number];

/** The fields of spec; a test checks that the CRD in manifests/ has the same. */
export const POLICY_SPEC_FIELDS = Object.keys(specSchema.shape);

/** A valid policy, ready to evaluate. */
export interface EvictionPolicy {
  name: string;
  /** Where it was loaded from: a file and document, or the cluster. */
  origin: string;
  action: PolicyAction;
  failurePolicy: 'Fail' | 'Ignore';
  match: PolicyMatch;
  rules: Rule[];
  /** Requesters that may evict pods this policy selects despite an evictionguard.io/protect annotation. */
  exemptSubjects: Subject[];
  message?: string;
}

/** A policy that could not be loaded; the message names the policy, the field and the problem. */
export interface PolicyError {
  /** metadata.name when the document has one. */
  name?: string;
  origin: string;
  message: string;
}

/** How many problems one error lists; the rest are counted. */
const MAX_PROBLEMS = 5;

/** A zod issue's path as a field path: `spec.rules[0].cel.expression`. */
export function fieldPath(path: readonly PropertyKey[]): string {
  return path.map((part, index) => (typeof part === 'number' ? `[${part}]` : `${index === 0 ? '' : '.'}${String(part)}`)).join('');
}

function documentName(raw: unknown): string | undefined {
  const name = (raw as { metadata?: { name?: unknown } } | null)?.metadata?.name;
  return typeof name === 'string' && name !== '' ? name : undefined;
}

export function policyLabel(name: string | undefined, origin: string): string {
  return `policy ${name === undefined ? '<unnamed>' : `"${name}"`} (${origin})`;
}

/** Validates and compiles one EvictionPolicy object. */
export function parsePolicy(raw: unknown, origin: string): { policy: EvictionPolicy } | { error: PolicyError } {
  const result = documentSchema.safeParse(raw);
  if (!result.success) {
    const name = documentName(raw);
    const problems = result.error.issues.map((issue) => `${issue.path.length > 0 ? `${fieldPath(issue.path)}: ` : ''}${issue.message}`);
    const listed = problems.slice(0, MAX_PROBLEMS).join('; ');
    const more = problems.length > MAX_PROBLEMS ? `; and ${problems.length - MAX_PROBLEMS} more` : '';
    return { error: { name, origin, message: `${policyLabel(name, origin)}: ${listed}${more}` } };
  }
  const { metadata, spec } = result.data;
  return {
    policy: {
      name: metadata.name,
      origin,
      action: spec.action,
      failurePolicy: spec.failurePolicy,
      match: spec.match,
      rules: spec.rules,
      exemptSubjects: spec.annotationProtection?.exemptSubjects ?? [],
      message: spec.message,
    },
  };
}
