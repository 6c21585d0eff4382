import { EVICTION_POLICIES_PATH, trimEvictionPolicy } from '../../src/policy/cluster-source';

describe('EvictionPolicy objects from the cluster', () => {
  it('are listed and watched at the CRD path', () => {
    expect(EVICTION_POLICIES_PATH).toBe('/apis/evictionguard.io/v1alpha1/evictionpolicies');
  });

  it('keep only what validation reads', () => {
    const raw = {
      apiVersion: 'evictionguard.io/v1alpha1',
      kind: 'EvictionPolicy',
      metadata: { name: 'freeze', uid: 'u', resourceVersion: '7', managedFields: [{ manager: 'kubectl' }] },
      spec: { rules: [{ protect: {} }] },
      status: { anything: true },
    };
    expect(trimEvictionPolicy(raw)).toEqual({
      facts: {
        namespace: '',
        name: 'freeze',
        document: {
          raw: { apiVersion: 'evictionguard.io/v1alpha1', kind: 'EvictionPolicy', metadata: { name: 'freeze' }, spec: { rules: [{ protect: {} }] } },
          origin: 'cluster',
        },
      },
    });
  });

  it('are EvictionPolicies whether or not a list item says so', () => {
    expect(trimEvictionPolicy({ metadata: { name: 'x' }, spec: {} })).toMatchObject({
      facts: { document: { raw: { apiVersion: 'evictionguard.io/v1alpha1', kind: 'EvictionPolicy' } } },
    });
  });

  it('need a name', () => {
    expect(trimEvictionPolicy({ metadata: {} })).toEqual({ error: 'EvictionPolicy has no metadata.name' });
    expect(trimEvictionPolicy(null)).toEqual({ error: 'EvictionPolicy has no metadata.name' });
  });
});
