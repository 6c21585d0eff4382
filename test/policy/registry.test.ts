import type { ClusterLogger } from '../../src/cluster/view';
import type { PolicyDocument } from '../../src/policy/load';
import { PolicyRegistry } from '../../src/policy/registry';
import { podFacts } from '../helpers/facts';

const document = (name: string, spec: unknown, origin = `file ${name}.yaml`): PolicyDocument => ({
  raw: { apiVersion: 'evictionguard.io/v1alpha1', kind: 'EvictionPolicy', metadata: { name }, spec },
  origin,
});
const protect = { rules: [{ protect: {} }] };

function registry() {
  const logged: { level: string; details: object; message: string }[] = [];
  const record = (level: string) => (details: object, message: string) => logged.push({ level, details, message });
  const logger: ClusterLogger = { debug: record('debug'), info: record('info'), warn: record('warn'), error: record('error') };
  return { registry: new PolicyRegistry(logger), logged };
}

describe('PolicyRegistry', () => {
  it('holds the valid policies of files and cluster, ordered by name', () => {
    const { registry: policies } = registry();
    policies.update('files', { documents: [document('zeta', protect), document('alpha', protect)], errors: [] });
    policies.update('cluster', { documents: [document('mid', protect, 'cluster')], errors: [] });
    expect(policies.current().map((policy) => policy.name)).toEqual(['alpha', 'mid', 'zeta']);
    expect(policies.status()).toEqual({ loaded: ['alpha', 'mid', 'zeta'], errors: [] });
  });

  it('offers an eviction the policies that can select its pod, as of the last update', () => {
    const { registry: policies } = registry();
    const kube = document('kube', { match: { namespaces: ['kube-*'] }, ...protect });
    policies.update('files', { documents: [kube, document('all', protect)], errors: [] });
    expect(policies.candidates(podFacts('web-1')).map((policy) => policy.name)).toEqual(['all']);
    expect(policies.candidates(podFacts('dns-1', { namespace: 'kube-system' })).map((policy) => policy.name)).toEqual(['all', 'kube']);
    policies.update('files', { documents: [kube], errors: [] });
    expect(policies.candidates(podFacts('web-1'))).toEqual([]);
  });

  it('leaves an invalid policy out, reports it, and keeps the others', () => {
    const { registry: policies, logged } = registry();
    policies.update('files', { documents: [document('good', protect), document('bad', { rules: [{ minReplicas: 'two' }] })], errors: [] });
    expect(policies.current().map((policy) => policy.name)).toEqual(['good']);
    expect(policies.status().errors).toEqual([
      { policy: 'bad', origin: 'file bad.yaml', message: 'policy "bad" (file bad.yaml): spec.rules[0].minReplicas: must be a whole number of replicas, at least 1' },
    ]);
    expect(logged.filter((entry) => entry.level === 'error')).toEqual([
      { level: 'error', details: expect.objectContaining({ policy: 'bad' }), message: 'ignoring an invalid policy' },
    ]);
    // The same error is logged once, not on every reload.
    policies.update('files', { documents: [document('good', protect), document('bad', { rules: [{ minReplicas: 'two' }] })], errors: [] });
    expect(logged.filter((entry) => entry.level === 'error')).toHaveLength(1);
  });

  it('passes on the errors a source found before validation', () => {
    const { registry: policies } = registry();
    policies.update('files', { documents: [], errors: [{ origin: 'file x.yaml', message: 'policy file x.yaml: ENOENT' }] });
    expect(policies.status().errors).toEqual([{ origin: 'file x.yaml', message: 'policy file x.yaml: ENOENT' }]);
  });

  it('rejects a second policy of the same name, keeping the first', () => {
    const { registry: policies } = registry();
    policies.update('files', { documents: [document('same', protect)], errors: [] });
    policies.update('cluster', { documents: [document('same', { rules: [{ requirePDB: true }] }, 'cluster')], errors: [] });
    expect(policies.current().map((policy) => policy.origin)).toEqual(['file same.yaml']);
    expect(policies.status().errors[0].message).toBe(
      'policy "same" (cluster): metadata.name: already used by file same.yaml; names must be unique, they are part of check ids',
    );
  });

  it('compiles a policy once per content: unchanged ones are kept, changed ones recompiled', () => {
    const { registry: policies, logged } = registry();
    policies.update('files', { documents: [document('a', protect), document('b', protect)], errors: [] });
    const [a, b] = policies.current();
    policies.update('files', { documents: [document('a', protect), document('b', { rules: [{ requirePDB: true }] })], errors: [] });
    const [a2, b2] = policies.current();
    expect(a2).toBe(a);
    expect(b2).not.toBe(b);
    expect(logged.filter((entry) => entry.message === 'policies in force').map((entry) => entry.details)).toEqual([
      expect.objectContaining({ recompiled: 2 }),
      expect.objectContaining({ recompiled: 1 }),
    ]);
  });

  it('drops the policies a source no longer holds', () => {
    const { registry: policies } = registry();
    policies.update('cluster', { documents: [document('gone', protect, 'cluster')], errors: [] });
    policies.update('cluster', { documents: [], errors: [] });
    expect(policies.current()).toEqual([]);
  });
});
