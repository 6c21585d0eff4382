import { annotationRecord, Interner } from '../../src/cluster/intern';

const ip = (i: number) => `10.0.${i >> 8}.${i & 255}/32`;
const annotationsOf = (interner: Interner, podIP: string) =>
  annotationRecord(
    interner.annotations([
      ['cni.projectcalico.org/podIP', podIP],
      ['prometheus.io/scrape', 'true'],
    ]),
  );

describe('Interner.annotations', () => {
  it('keeps no pool entry for a key whose values are each object its own, and still shares the values that repeat', () => {
    const interner = new Interner();
    const records = Array.from({ length: 1000 }, (_, i) => annotationsOf(interner, ip(i)));
    records.forEach((record, i) => expect(record).toEqual({ 'cni.projectcalico.org/podIP': ip(i), 'prometheus.io/scrape': 'true' }));
    // The first values are pooled until the key shows they do not repeat; then one in 64 is, as a sample.
    expect(interner.pooledStrings).toBeLessThan(100);
    expect(interner.string('true')).toBe(records[999]['prometheus.io/scrape']);
    expect(Object.isFrozen(records[999])).toBe(true);
  });

  it('pools a key again once its values repeat, and records of repeating values stay shared', () => {
    const interner = new Interner();
    for (let i = 0; i < 200; i++) annotationsOf(interner, ip(i));
    const later = Array.from({ length: 300 }, () => annotationsOf(interner, 'shared'));
    expect(later[299]).toBe(later[298]);
    const plain = [interner.annotations([['team', 'a']]), interner.annotations([['team', 'a']])];
    expect(plain[1].values).toBe(plain[0].values);
  });

  it("keeps objects' own values apart from a layout their workload shares, and gives back the record in key order", () => {
    const interner = new Interner();
    const entries = (i: number): [string, string][] => [
      ['a/own', `a-${i}`],
      ['b/shared', 'yes'],
      ['c/own', `c-${i}`],
      ['d/shared', 'no'],
    ];
    const stored = Array.from({ length: 300 }, (_, i) => interner.annotations(entries(i)));
    const [first, last] = [stored[298], stored[299]];
    expect(last.layout).toBeDefined();
    expect(last.layout).toBe(first.layout);
    expect(last.values).toEqual(['a-299', 'c-299']);
    const record = annotationRecord(last);
    expect(Object.entries(record)).toEqual(entries(299));
    expect(Object.isFrozen(record)).toBe(true);
    // One value, read without building the record, is the record's.
    for (const key of [...Object.keys(record), 'e/absent']) expect(last.layout!.value(last.values as readonly string[], key)).toBe(record[key]);
  });
});

describe('Interner pools', () => {
  it('tells apart values whose strings only differ in how they would join: NUL inside, numbers and strings, undefined', () => {
    const interner = new Interner();
    const records = [
      interner.record([['a', 'b\u0000c']]),
      interner.record([['a\u0000b', 'c']]),
      interner.record([
        ['a', 'b'],
        ['c', 'd'],
      ]),
      interner.record([['a', 'b\u0000c\u0000d']]),
    ];
    expect(new Set(records).size).toBe(4);
    expect(records.map((record) => Object.entries(record))).toEqual([[['a', 'b\u0000c']], [['a\u0000b', 'c']], [['a', 'b'], ['c', 'd']], [['a', 'b\u0000c\u0000d']]]);
    const objects = [
      interner.object({ key: 'k', value: '1' as string | number | undefined }),
      interner.object({ key: 'k', value: 1 as string | number | undefined }),
      interner.object({ key: 'k', value: '\u00011' as string | number | undefined }),
      interner.object({ key: 'k', value: undefined as string | number | undefined }),
      interner.object({ key: 'k', value: 'undefined' as string | number | undefined }),
      interner.object({ key: 'k', value: '\u0001undefined' as string | number | undefined }),
    ];
    expect(objects.map((object) => object.value)).toEqual(['1', 1, '\u00011', undefined, 'undefined', '\u0001undefined']);
    expect(interner.object({ key: 'k', value: 1 as string | number | undefined })).toBe(objects[1]);
  });
});

describe('Interner.stringList', () => {
  it('shares one frozen list among alike lists, and keeps a one-string list apart from the JSON key of a list holding NUL', () => {
    const interner = new Interner();
    const sources = interner.stringList(['configMap', 'projected']);
    expect(interner.stringList(['configMap', 'projected'])).toBe(sources);
    expect(Object.isFrozen(sources)).toBe(true);
    const withNul = interner.stringList(['a\u0000b']);
    expect(interner.stringList([JSON.stringify(['a\u0000b'])])).toEqual([JSON.stringify(['a\u0000b'])]);
    expect(withNul).toEqual(['a\u0000b']);
    expect(interner.stringList([])).toEqual([]);
  });
});
