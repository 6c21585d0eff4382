import {
  leaseFor,
  leaseName,
  microTime,
  recordFromLease,
  RESERVATIONS_ANNOTATION,
  scopeOfLease,
} from '../../src/reservation/lease';
import type { Reservation, ScopeRef } from '../../src/reservation/record';

const DNS_LABEL = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;
const NOW = Date.parse('2024-06-05T10:00:00.123Z');
const scope: ScopeRef = { scope: 'owner', key: 'shop/Deployment/web' };
const reservation: Reservation = { namespace: 'shop', name: 'web-1', uid: 'u-1', reservedAt: NOW, expiresAt: NOW + 120_000, by: 'eviction-guard-abc' };

describe('leaseName()', () => {
  it('is readable, deterministic and a valid name of at most 63 characters', () => {
    const name = leaseName(scope);
    expect(name).toMatch(/^owner-shop-deployment-web-[0-9a-f]{10}$/);
    expect(leaseName({ ...scope })).toBe(name);
    const long = leaseName({ scope: 'node', key: `ip-10-0-1-7.${'very-long-zone-name.'.repeat(12)}compute.internal` });
    expect(long.length).toBeLessThanOrEqual(63);
    expect(long).toMatch(DNS_LABEL);
    expect(leaseName({ scope: 'owner', key: 'shop/MyOperator.Kind/Weird_Name' })).toMatch(DNS_LABEL);
  });

  it('tells apart keys that read the same once cleaned or shortened', () => {
    expect(leaseName({ scope: 'owner', key: 'a-b/Deployment/c' })).not.toBe(leaseName({ scope: 'owner', key: 'a/Deployment/b-c' }));
    expect(leaseName({ scope: 'namespace', key: 'shop' })).not.toBe(leaseName({ scope: 'node', key: 'shop' }));
    const prefix = 'n'.repeat(80);
    expect(leaseName({ scope: 'node', key: `${prefix}1` })).not.toBe(leaseName({ scope: 'node', key: `${prefix}2` }));
  });
});

describe('microTime()', () => {
  it('writes six fractional digits, as metav1.MicroTime parses', () => {
    expect(microTime(NOW)).toBe('2024-06-05T10:00:00.123000Z');
  });
});

describe('the Lease of a record', () => {
  it('labels what it is, names its scope in full and holds the reservations as JSON', () => {
    const lease = leaseFor({ record: { scope, entries: [], version: '41' }, entries: [reservation], namespace: 'eviction-guard', holder: 'eviction-guard-abc', ttlMs: 120_000, now: NOW });
    expect(lease).toEqual({
      apiVersion: 'coordination.k8s.io/v1',
      kind: 'Lease',
      metadata: {
        name: leaseName(scope),
        namespace: 'eviction-guard',
        resourceVersion: '41',
        labels: { 'app.kubernetes.io/name': 'eviction-guard', 'app.kubernetes.io/component': 'reservations', 'evictionguard.io/scope': 'owner' },
        annotations: {
          'evictionguard.io/scope-key': 'owner/shop/Deployment/web',
          [RESERVATIONS_ANNOTATION]: '[{"pod":"shop/web-1","uid":"u-1","at":"2024-06-05T10:00:00.123Z","expires":"2024-06-05T10:02:00.123Z","by":"eviction-guard-abc"}]',
        },
      },
      spec: { holderIdentity: 'eviction-guard-abc', leaseDurationSeconds: 120, renewTime: '2024-06-05T10:00:00.123000Z' },
    });
  });

  it('leaves the resourceVersion out when creating, and reads back what it wrote', () => {
    const lease = leaseFor({ record: { scope, entries: [] }, entries: [reservation], namespace: 'ns', holder: 'h', ttlMs: 1500, now: NOW });
    expect(lease.metadata.resourceVersion).toBeUndefined();
    expect(lease.spec.leaseDurationSeconds).toBe(2);
    const stored = { ...lease, metadata: { ...lease.metadata, resourceVersion: '9' } };
    expect(recordFromLease(scope, stored)).toEqual({ record: { scope, entries: [reservation], version: '9' } });
    expect(scopeOfLease(stored)).toEqual(scope);
  });

  it('drops entries it cannot read and says so, never throws', () => {
    const withAnnotation = (text: string) => ({ metadata: { resourceVersion: '3', annotations: { [RESERVATIONS_ANNOTATION]: text } } });
    expect(recordFromLease(scope, withAnnotation('{oops'))).toEqual({
      record: { scope, entries: [], version: '3' },
      problem: `annotation ${RESERVATIONS_ANNOTATION} is not JSON`,
    });
    const mixed = recordFromLease(scope, withAnnotation('[{"pod":"shop/web-1","expires":"2024-06-05T10:02:00Z"},{"pod":"no-namespace","expires":"x"},7]'));
    expect(mixed.record.entries).toEqual([{ namespace: 'shop', name: 'web-1', uid: '', reservedAt: Date.parse('2024-06-05T10:02:00Z'), expiresAt: Date.parse('2024-06-05T10:02:00Z'), by: '' }]);
    expect(mixed.problem).toBe(`annotation ${RESERVATIONS_ANNOTATION}: 2 entries could not be read`);
    expect(recordFromLease(scope, null)).toEqual({ record: { scope, entries: [], version: undefined } });
  });

  it('recognises only Leases that name a scope', () => {
    expect(scopeOfLease({ metadata: { annotations: { 'evictionguard.io/scope-key': 'node/ip-10-0-1-7' } } })).toEqual({ scope: 'node', key: 'ip-10-0-1-7' });
    expect(scopeOfLease({ metadata: { annotations: { 'evictionguard.io/scope-key': 'cluster/x' } } })).toBeUndefined();
    expect(scopeOfLease({ metadata: { name: 'leader-election' } })).toBeUndefined();
  });
});
