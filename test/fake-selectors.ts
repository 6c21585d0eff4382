// The fieldSelector and labelSelector query parameters of lists and watches, parsed as the API
// server parses them, into one test of a stored object.
import type { LabelSelector, LabelSelectorRequirement } from '../src/domain';
import { compileSelector } from '../src/pdb/selector';
import { isObject, type Json } from './fake-http';

type Selects = (object: Json) => boolean;

/**
 * fieldSelector: comma-separated `field=value`, `field==value` or `field!=value`, each field a
 * dotted path (spec.nodeName, status.phase, metadata.name). A field the object lacks reads as ""
 * (so `spec.nodeName=` selects unscheduled pods).
 */
function fieldSelector(selector: string): Selects | string {
  const requirements: { path: string[]; value: string; equal: boolean }[] = [];
  for (const term of selector.split(',')) {
    const match = /^([A-Za-z0-9.]+)(==|=|!=)(.*)$/.exec(term);
    if (match === null) return `invalid selector: '${selector}'; can't understand '${term}'`;
    requirements.push({ path: match[1].split('.'), value: match[3], equal: match[2] !== '!=' });
  }
  const valueAt = (object: Json, path: string[]): string => {
    let value: unknown = object;
    for (const key of path) value = isObject(value) ? value[key] : undefined;
    return value === undefined || value === null ? '' : String(value);
  };
  return (object) => requirements.every(({ path, value, equal }) => (valueAt(object, path) === value) === equal);
}

/** labelSelector in kubectl's syntax (`app=web,tier in (a,b),!legacy`), as a metav1.LabelSelector. */
function parseLabelSelector(selector: string): LabelSelector | string {
  const matchExpressions: LabelSelectorRequirement[] = [];
  // Commas inside the value sets of `in (…)` do not separate requirements.
  for (const term of selector.match(/(?:[^,(]|\([^)]*\))+/g) ?? []) {
    const text = term.trim();
    const set = /^(\S+)\s+(in|notin)\s+\(([^)]*)\)$/.exec(text);
    const compared = /^([^=!\s]+)\s*(==|=|!=)\s*(\S*)$/.exec(text);
    if (set !== null) {
      matchExpressions.push({ key: set[1], operator: set[2] === 'in' ? 'In' : 'NotIn', values: set[3].split(',').map((value) => value.trim()) });
    } else if (compared !== null) {
      matchExpressions.push({ key: compared[1], operator: compared[2] === '!=' ? 'NotIn' : 'In', values: [compared[3]] });
    } else if (/^!\S+$/.test(text)) {
      matchExpressions.push({ key: text.slice(1), operator: 'DoesNotExist' });
    } else if (/^\S+$/.test(text)) {
      matchExpressions.push({ key: text, operator: 'Exists' });
    } else {
      return `unable to parse requirement: ${text}`;
    }
  }
  return { matchExpressions };
}

function labelSelector(selector: string): Selects | string {
  const parsed = parseLabelSelector(selector);
  if (typeof parsed === 'string') return parsed;
  const compiled = compileSelector(parsed);
  if (!compiled.valid) return compiled.error;
  return (object) => compiled.matches(((object.metadata as Json | undefined)?.labels as Record<string, string> | undefined) ?? {});
}

/**
 * The objects a list or watch with these query parameters selects: undefined when it selects all,
 * or the error text of a selector that does not parse (a 400 BadRequest).
 */
export function querySelector(query: Record<string, string>): Selects | string | undefined {
  const tests: Selects[] = [];
  for (const [parameter, parse] of [
    ['fieldSelector', fieldSelector],
    ['labelSelector', labelSelector],
  ] as const) {
    const selector = query[parameter];
    if (selector === undefined || selector === '') continue;
    const test = parse(selector);
    if (typeof test === 'string') return test;
    tests.push(test);
  }
  return tests.length === 0 ? undefined : (object) => tests.every((test) => test(object));
}
