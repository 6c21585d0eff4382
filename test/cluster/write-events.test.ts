// Writes to the API server (cluster/write.ts) and the Events API the webhook writes to, against the
// fake API server, whose Events behave as the real server's: create, merge and strategic merge
// patches, conflicts, validation, and a switch that makes them fail.
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { KubeConfig } from '@kubernetes/client-node';
import { kubeEventApi, type CoreEvent } from '../../src/audit/events';
import { getJson, releaseConnections } from '../../src/cluster/api';
import { resolveKubeConfig } from '../../src/cluster/kubeconfig';
import { ApiWriteError, releaseWriteConnections, sendJson } from '../../src/cluster/write';
import { FakeApiServer } from '../fake-apiserver';

let fake: FakeApiServer;
let dir: string;
let kubeConfig: KubeConfig;

beforeEach(async () => {
  fake = await FakeApiServer.start();
  dir = mkdtempSync(path.join(os.tmpdir(), 'write-events-'));
  kubeConfig = resolveKubeConfig(fake.writeKubeconfig(dir))!;
});
afterEach(async () => {
  releaseWriteConnections(kubeConfig);
  releaseConnections(kubeConfig);
  await fake.close();
  rmSync(dir, { recursive: true, force: true });
});

const event = (name = 'web-1.1a2b3c'): CoreEvent => ({
  apiVersion: 'v1',
  kind: 'Event',
  metadata: { name, namespace: 'shop' },
  involvedObject: { apiVersion: 'v1', kind: 'Pod', namespace: 'shop', name: 'web-1', uid: 'web-1-uid' },
  reason: 'EvictionDenied',
  message: 'Cannot evict pod as it would violate the pod\'s disruption budget.',
  type: 'Warning',
  action: 'Evict',
  count: 1,
  firstTimestamp: '2026-03-02T10:00:00Z',
  lastTimestamp: '2026-03-02T10:00:00Z',
  source: { component: 'eviction-guard', host: 'eg-0' },
  reportingComponent: 'eviction-guard',
  reportingInstance: 'eg-0',
});

async function rejection(promise: Promise<unknown>): Promise<ApiWriteError> {
  try {
    await promise;
  } catch (error) {
    if (error instanceof ApiWriteError) return error;
    throw error;
  }
  throw new Error('expected the write to fail');
}

const signal = new AbortController().signal;

describe('Events through the fake API server', () => {
  it('creates an Event and patches its count with a strategic merge patch', async () => {
    const api = kubeEventApi(kubeConfig);
    await api.create('shop', event(), signal);
    await api.patch('shop', 'web-1.1a2b3c', { count: 4, lastTimestamp: '2026-03-02T10:00:20Z' }, signal);
    const [stored] = fake.events.forPod('shop', 'web-1');
    expect(stored).toMatchObject({ reason: 'EvictionDenied', count: 4, firstTimestamp: '2026-03-02T10:00:00Z', lastTimestamp: '2026-03-02T10:00:20Z', metadata: { name: 'web-1.1a2b3c', namespace: 'shop' } });
    expect(fake.events.writes.map(({ method, status, contentType }) => [method, status, contentType])).toEqual([
      ['POST', 201, 'application/json'],
      ['PATCH', 200, 'application/strategic-merge-patch+json'],
    ]);
  });

  it('accepts a JSON merge patch too, merging nested objects and deleting nulls', async () => {
    await sendJson(kubeConfig, 'POST', '/api/v1/namespaces/shop/events', event());
    const patched = (await sendJson(kubeConfig, 'PATCH', '/api/v1/namespaces/shop/events/web-1.1a2b3c', { source: { host: 'eg-1' }, action: null }, { contentType: 'application/merge-patch+json' })) as CoreEvent;
    expect(patched.source).toEqual({ component: 'eviction-guard', host: 'eg-1' });
    expect('action' in patched).toBe(false);
  });

  it('lists Events of a namespace and of the cluster', async () => {
    await sendJson(kubeConfig, 'POST', '/api/v1/namespaces/shop/events', event('a'));
    await sendJson(kubeConfig, 'POST', '/api/v1/namespaces/other/events', { ...event('b'), metadata: { name: 'b', namespace: 'other' }, involvedObject: { ...event().involvedObject, namespace: 'other' } });
    const names = async (listPath: string) => ((await getJson(kubeConfig, listPath)) as { kind: string; items: CoreEvent[] }).items.map((item) => item.metadata.name);
    expect(await names('/api/v1/namespaces/shop/events')).toEqual(['a']);
    expect(await names('/api/v1/events')).toEqual(['a', 'b']);
    expect(await getJson(kubeConfig, '/api/v1/namespaces/shop/events/a')).toMatchObject({ kind: 'Event', apiVersion: 'v1', reason: 'EvictionDenied' });
  });

  it('answers as the API server does to a duplicate, a mismatched namespace, a missing Event and a JSON patch', async () => {
    await sendJson(kubeConfig, 'POST', '/api/v1/namespaces/shop/events', event());
    expect(await rejection(sendJson(kubeConfig, 'POST', '/api/v1/namespaces/shop/events', event()))).toMatchObject({ status: 409, problem: expect.stringContaining('AlreadyExists') });
    expect(await rejection(sendJson(kubeConfig, 'POST', '/api/v1/namespaces/other/events', event('x')))).toMatchObject({ status: 422 });
    expect(await rejection(sendJson(kubeConfig, 'PATCH', '/api/v1/namespaces/shop/events/nope', { count: 2 }, { contentType: 'application/merge-patch+json' }))).toMatchObject({ status: 404 });
    expect(await rejection(sendJson(kubeConfig, 'PATCH', '/api/v1/namespaces/shop/events/web-1.1a2b3c', [{ op: 'replace', path: '/count', value: 2 }], { contentType: 'application/json-patch+json' }))).toMatchObject({ status: 415 });
  });

  it('fails every Events call with 500 while switched to failing', async () => {
    fake.events.failing = true;
    const error = await rejection(kubeEventApi(kubeConfig).create('shop', event(), signal));
    expect(error.status).toBe(500);
    expect(error.message).toBe('POST /api/v1/namespaces/shop/events: HTTP 500 InternalError: Internal error occurred: the fake Events API is failing');
    expect(fake.events.list()).toEqual([]);
  });

  it('gives up on a write at its deadline', async () => {
    fake.events.delayMs = 5000;
    const started = Date.now();
    const error = await rejection(sendJson(kubeConfig, 'POST', '/api/v1/namespaces/shop/events', event(), { timeoutMs: 200 }));
    expect(error.problem).toBe('timed out after 200 ms');
    expect(Date.now() - started).toBeLessThan(3000);
  });

  it('needs the token: without it the write is refused', async () => {
    kubeConfig.users[0] = { ...kubeConfig.users[0], token: 'wrong' };
    expect(await rejection(sendJson(kubeConfig, 'POST', '/api/v1/namespaces/shop/events', event()))).toMatchObject({ status: 401 });
  });
});
