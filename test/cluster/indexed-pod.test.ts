import { decodeVolumeNames, encodeVolumeNames } from '../../src/cluster/indexed-pod';

describe('encodeVolumeNames', () => {
  const reference = ['config', 'cache', 'kube-api-access-x2x9k'];

  it.each([
    ['the same names', ['config', 'cache', 'kube-api-access-x2x9k']],
    ['another token suffix', ['config', 'cache', 'kube-api-access-4m8qz']],
    ['shorter and longer names', ['conf', 'cache-big', 'kube']],
    ['empty names', ['', 'cache', '']],
    ['names sharing nothing', ['a', 'b', 'c']],
    ['more names than the reference', ['config', 'cache', 'kube-api-access-4m8qz', 'extra']],
    ['fewer names', ['config']],
    ['no names', []],
    ['a name holding NUL', ['con\u0000fig', 'cache', 'x']],
  ])('gives back %s exactly', (_, names) => {
    expect(decodeVolumeNames(encodeVolumeNames(names, reference), reference)).toEqual(names);
  });

  it('keeps of a token volume name only what differs from the reference', () => {
    const encoded = encodeVolumeNames(['config', 'cache', 'kube-api-access-4m8qz'], reference);
    // One character per name for how much it shares, two separators, and the token's own suffix.
    expect(encoded).toHaveLength(3 + 2 + 5);
    expect(encodeVolumeNames(reference, reference)).toBe('');
  });
});
