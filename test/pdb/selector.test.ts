import { compileSelector, describeSelector, selectorMatches, V1BETA1_MATCH_NONE_KEY } from '../../src/pdb/selector';
import type { LabelSelector } from '../../src/domain';

const web = { app: 'web', tier: 'front' };
const unlabelled = {};

describe('label selector matching (docs/eviction-semantics.md §3)', () => {
  it.each<[string, LabelSelector | null, Record<string, string>, boolean]>([
    ['a nil selector matches nothing', null, web, false],
    ['a nil selector matches nothing, even an unlabelled pod', null, unlabelled, false],
    ['an empty {} selector matches every pod (policy/v1)', {}, web, true],
    ['an empty {} selector matches a pod with no labels', {}, unlabelled, true],
    ['empty matchLabels and matchExpressions count as {}', { matchLabels: {}, matchExpressions: [] }, unlabelled, true],
    ['matchLabels needs every label', { matchLabels: { app: 'web', tier: 'front' } }, web, true],
    ['matchLabels fails on one different value', { matchLabels: { app: 'web', tier: 'back' } }, web, false],
    ['matchLabels fails on a missing label', { matchLabels: { zone: 'a' } }, web, false],
    ['In matches a listed value', { matchExpressions: [{ key: 'tier', operator: 'In', values: ['front', 'edge'] }] }, web, true],
    ['In fails on an unlisted value', { matchExpressions: [{ key: 'tier', operator: 'In', values: ['back'] }] }, web, false],
    ['In fails when the label is missing', { matchExpressions: [{ key: 'zone', operator: 'In', values: ['a'] }] }, web, false],
    ['NotIn matches an unlisted value', { matchExpressions: [{ key: 'tier', operator: 'NotIn', values: ['back'] }] }, web, true],
    ['NotIn matches when the label is missing', { matchExpressions: [{ key: 'zone', operator: 'NotIn', values: ['a'] }] }, web, true],
    ['NotIn fails on a listed value', { matchExpressions: [{ key: 'tier', operator: 'NotIn', values: ['front'] }] }, web, false],
    ['Exists matches a present label', { matchExpressions: [{ key: 'app', operator: 'Exists' }] }, web, true],
    ['Exists fails on a missing label', { matchExpressions: [{ key: 'zone', operator: 'Exists' }] }, web, false],
    ['DoesNotExist matches a missing label', { matchExpressions: [{ key: 'zone', operator: 'DoesNotExist' }] }, web, true],
    ['DoesNotExist fails on a present label', { matchExpressions: [{ key: 'app', operator: 'DoesNotExist' }] }, web, false],
    [
      'matchLabels AND matchExpressions must both hold',
      { matchLabels: { app: 'web' }, matchExpressions: [{ key: 'tier', operator: 'In', values: ['back'] }] },
      web,
      false,
    ],
    [
      'the legacy v1beta1 empty selector matches nothing',
      { matchExpressions: [{ key: V1BETA1_MATCH_NONE_KEY, operator: 'Exists' }] },
      web,
      false,
    ],
    ['a label value of "" is matched exactly', { matchLabels: { flag: '' } }, { flag: '' }, true],
  ])('%s', (_name, selector, labels, expected) => {
    expect(selectorMatches(selector, labels)).toBe(expected);
  });

  it.each<[string, LabelSelector, RegExp]>([
    ['an unknown operator', { matchExpressions: [{ key: 'app', operator: 'Equals', values: ['web'] }] }, /not a valid label selector operator/],
    ['In without values', { matchExpressions: [{ key: 'app', operator: 'In', values: [] }] }, /needs at least one value/],
    ['Exists with values', { matchExpressions: [{ key: 'app', operator: 'Exists', values: ['web'] }] }, /takes no values/],
    ['an invalid key', { matchLabels: { 'bad key!': 'x' } }, /not a valid label key/],
    ['an invalid key prefix', { matchLabels: { 'Bad_Prefix/app': 'x' } }, /invalid prefix/],
    ['an invalid value', { matchLabels: { app: 'no spaces allowed' } }, /not a valid label value/],
    ['a value over 63 characters', { matchLabels: { app: 'a'.repeat(64) } }, /not a valid label value/],
  ])('rejects %s, and the selector then matches nothing', (_name, selector, error) => {
    const compiled = compileSelector(selector);
    expect(compiled.valid).toBe(false);
    if (!compiled.valid) expect(compiled.error).toMatch(error);
    expect(selectorMatches(selector, { app: 'web', 'bad key!': 'x', 'Bad_Prefix/app': 'x' })).toBe(false);
  });

  it('accepts prefixed keys such as app.kubernetes.io/name', () => {
    expect(selectorMatches({ matchLabels: { 'app.kubernetes.io/name': 'web' } }, { 'app.kubernetes.io/name': 'web' })).toBe(true);
  });

  it('compiles each selector object once', () => {
    const selector: LabelSelector = { matchLabels: { app: 'web' } };
    expect(compileSelector(selector)).toBe(compileSelector(selector));
  });

  it('does not treat inherited object properties as labels', () => {
    expect(selectorMatches({ matchExpressions: [{ key: 'constructor', operator: 'Exists' }] }, {})).toBe(false);
  });

  it.each<[LabelSelector | null, string]>([
    [null, '<none: matches no pods>'],
    [{}, '{} (every pod in the namespace)'],
    [
      {
        matchLabels: { app: 'web' },
        matchExpressions: [
          { key: 'tier', operator: 'In', values: ['a', 'b'] },
          { key: 'zone', operator: 'NotIn', values: ['c'] },
          { key: 'canary', operator: 'Exists' },
          { key: 'legacy', operator: 'DoesNotExist' },
        ],
      },
      'app=web,tier in (a,b),zone notin (c),canary,!legacy',
    ],
  ])('describes %j as %s', (selector, text) => {
    expect(describeSelector(selector)).toBe(text);
  });
});
