// Label-selector matching with the API server's semantics (docs/eviction-semantics.md §3):
// metav1.LabelSelectorAsSelector, then labels.Selector.Matches.
import type { LabelSelector, LabelSelectorRequirement } from '../domain';

type Labels = Readonly<Record<string, string>>;

/** A selector checked once and ready to match, or the reason it cannot be parsed. */
export type CompiledSelector =
  | { valid: true; matches: (labels: Labels) => boolean }
  | { valid: false; error: string };

const NAME_PART = /^[A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?$/;
const DNS_SUBDOMAIN = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;

/** validation.IsQualifiedName: an optional DNS-subdomain prefix, then a name of at most 63 characters. */
function labelKeyError(key: string): string | undefined {
  const slash = key.lastIndexOf('/');
  const prefix = slash >= 0 ? key.slice(0, slash) : undefined;
  const name = slash >= 0 ? key.slice(slash + 1) : key;
  if (prefix !== undefined && (prefix.length === 0 || prefix.length > 253 || !DNS_SUBDOMAIN.test(prefix))) {
    return `label key "${key}" has an invalid prefix`;
  }
  if (name.length === 0 || name.length > 63 || !NAME_PART.test(name)) return `"${key}" is not a valid label key`;
  return undefined;
}

/** validation.IsValidLabelValue: empty, or a name part of at most 63 characters. */
function labelValueError(value: unknown): string | undefined {
  if (typeof value !== 'string') return `label value ${JSON.stringify(value)} is not a string`;
  if (value.length === 0) return undefined;
  return value.length <= 63 && NAME_PART.test(value) ? undefined : `"${value}" is not a valid label value`;
}

function compileRequirement(requirement: LabelSelectorRequirement): ((labels: Labels) => boolean) | string {
  const { key, operator } = requirement;
  const values = requirement.values ?? [];
  const keyError = labelKeyError(key);
  if (keyError) return keyError;
  switch (operator) {
    case 'In':
    case 'NotIn': {
      if (values.length === 0) return `operator ${operator} on "${key}" needs at least one value`;
      const valueError = values.map(labelValueError).find((error) => error !== undefined);
      if (valueError) return valueError;
      const allowed = new Set(values);
      return operator === 'In'
        ? (labels) => Object.hasOwn(labels, key) && allowed.has(labels[key])
        : (labels) => !Object.hasOwn(labels, key) || !allowed.has(labels[key]);
    }
    case 'Exists':
    case 'DoesNotExist':
      if (values.length > 0) return `operator ${operator} on "${key}" takes no values`;
      return operator === 'Exists' ? (labels) => Object.hasOwn(labels, key) : (labels) => !Object.hasOwn(labels, key);
    default:
      return `"${operator}" is not a valid label selector operator`;
  }
}

function compile(selector: LabelSelector): CompiledSelector {
  const tests: ((labels: Labels) => boolean)[] = [];
  for (const [key, value] of Object.entries(selector.matchLabels ?? {})) {
    const error = labelKeyError(key) ?? labelValueError(value);
    if (error) return { valid: false, error };
    tests.push((labels) => labels[key] === value && Object.hasOwn(labels, key));
  }
  for (const requirement of selector.matchExpressions ?? []) {
    const test = compileRequirement(requirement);
    if (typeof test === 'string') return { valid: false, error: test };
    tests.push(test);
  }
  // No requirements at all is labels.Everything(): policy/v1 `{}` selects every pod in the namespace.
  return { valid: true, matches: (labels) => tests.every((test) => test(labels)) };
}

// Cached PDB facts are shared between requests, so each selector object is compiled once.
const compiled = new WeakMap<LabelSelector, CompiledSelector>();

/** Compiles a selector. A nil selector is valid and matches nothing (LabelSelectorAsSelector(nil)). */
export function compileSelector(selector: LabelSelector | null): CompiledSelector {
  if (selector === null) return MATCH_NOTHING;
  let result = compiled.get(selector);
  if (result === undefined) {
    result = compile(selector);
    compiled.set(selector, result);
  }
  return result;
}

const MATCH_NOTHING: CompiledSelector = { valid: true, matches: () => false };

/** True when the selector parses and selects these labels; an invalid selector selects nothing. */
export function selectorMatches(selector: LabelSelector | null, labels: Labels): boolean {
  const result = compileSelector(selector);
  return result.valid && result.matches(labels);
}

/**
 * The API server stores an empty policy/v1beta1 selector, which matched no pods, as an Exists on
 * this key, so that read through policy/v1 it still matches none (pkg/apis/policy/helper.go).
 */
export const V1BETA1_MATCH_NONE_KEY = 'pdb.kubernetes.io/deprecated-v1beta1-empty-selector-match';

/** kubectl-style rendering of a selector, for messages: `app=web,tier in (a,b),!legacy`. */
export function describeSelector(selector: LabelSelector | null): string {
  if (selector === null) return '<none: matches no pods>';
  const parts = Object.entries(selector.matchLabels ?? {}).map(([key, value]) => `${key}=${value}`);
  for (const { key, operator, values = [] } of selector.matchExpressions ?? []) {
    if (key === V1BETA1_MATCH_NONE_KEY && operator === 'Exists') parts.push('<legacy v1beta1 empty selector: matches no pods>');
    else if (operator === 'In') parts.push(`${key} in (${values.join(',')})`);
    else if (operator === 'NotIn') parts.push(`${key} notin (${values.join(',')})`);
    else if (operator === 'Exists') parts.push(key);
    else if (operator === 'DoesNotExist') parts.push(`!${key}`);
    else parts.push(`${key} ${operator} (${values.join(',')})`);
  }
  return parts.length === 0 ? '{} (every pod in the namespace)' : parts.join(',');
}
