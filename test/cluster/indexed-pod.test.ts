import { decodeVolumeNames, encodeVolumeNames } from '../../src/cluster/indexed-pod';
import { Interner } from '../../src/cluster/intern';
import { trimPod } from '../../src/cluster/trim';
import { podAnnotation } from '../../src/domain';
import { checkProtectAnnotation, PROTECT_ANNOTATION } from '../../src/policy/annotation';

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

describe('IndexedPod annotations', () => {
  it('reads one annotation as the record has it, for a pod whose own values sit beside a shared layout', () => {
    const interner = new Interner();
    const pods = Array.from({ length: 300 }, (_, i) => {
      const trimmed = trimPod(
        { metadata: { name: `p-${i}`, namespace: 'shop', annotations: { 'cni.projectcalico.org/podIP': `10.0.${i >> 8}.${i & 255}/32`, [PROTECT_ANNOTATION]: 'true', 'z/shared': 'yes' } } },
        interner,
      );
      if ('error' in trimmed) throw new Error(trimmed.error);
      return trimmed.facts;
    });
    const pod = pods[299];
    // The record is built on each read: the pod keeps its own value apart from a layout.
    expect(pod.annotations).not.toBe(pod.annotations);
    for (const key of [...Object.keys(pod.annotations), 'absent']) expect(podAnnotation(pod, key)).toBe(pod.annotations[key]);
    expect(podAnnotation(pod, 'cni.projectcalico.org/podIP')).toBe('10.0.1.43/32');
    expect(checkProtectAnnotation(pod, undefined)?.message).toContain('is protected');
  });
});
