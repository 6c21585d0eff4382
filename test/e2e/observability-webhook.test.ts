// Metrics, Events and the audit trail end to end: real HTTPS /validate requests to `startWebhook`
// watching the fake API server, then a Prometheus scrape of the metrics port, the Events the fake
// received, /audit/recent and the audit file.
import { X509Certificate } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { createLogger } from '../../src/audit/logger';
import { ADMISSION_DURATION_BUCKETS } from '../../src/audit/metrics';
import type { AuditEntry } from '../../src/audit/trail';
import { startWebhook, type RunningWebhook, type ServeOptions } from '../../src/cli/serve';
import { demoClusterView } from '../../src/cluster/snapshot';
import { FakeApiServer } from '../fake-apiserver';
import { evictionReview } from '../admission/reviews';
import { captureLog } from '../helpers/log-capture';
import { makeTestCertificate } from '../helpers/tls';
import { exhaustedWebPdb, httpGet, liveServeOptions, openWebPdb, operatorHeaders, samples, waitFor, webPod, type AdmissionAnswer } from './harness';
import { httpsCall, postJson } from '../server/https-client';

const tls = { ...makeTestCertificate(), notAfterMs: 0 };
let dir: string;
let fake: FakeApiServer;
let webhook: RunningWebhook;
/** Webhooks to close after each test. */
const running = new Set<RunningWebhook>();
let uidCounter = 0;

async function evict(name: string, dryRun = false): Promise<AdmissionAnswer> {
  const body = evictionReview();
  Object.assign(body.request, { uid: `obs-${++uidCounter}`, name, namespace: 'shop', dryRun });
  const reply = await postJson(webhook.port, tls.cert, body);
  expect(reply.status).toBe(200);
  return JSON.parse(reply.text) as AdmissionAnswer;
}

const scrape = (port = webhook.metricsPort!, urlPath = '/metrics') => httpGet(port, urlPath);

const types = (text: string) => Object.fromEntries([...text.matchAll(/^# TYPE (\S+) (\S+)$/gm)].map(([, name, type]) => [name, type]));

const pod = webPod;
const exhaustedPdb = exhaustedWebPdb;

async function start(overrides: Partial<ServeOptions> = {}): Promise<void> {
  webhook = await startWebhook(
    liveServeOptions(dir, fake, {
      metricsPort: 0,
      metricsAddress: '127.0.0.1',
      events: 'deny',
      eventTuning: { patchIntervalMs: 100 },
      ...overrides,
    }),
    createLogger('silent'),
  );
  running.add(webhook);
  await waitFor('ready', async () => (await httpsCall({ port: webhook.port, ca: tls.cert, path: '/readyz' })).status === 200);
}

beforeAll(() => {
  tls.notAfterMs = new Date(new X509Certificate(tls.cert).validTo).getTime();
  dir = mkdtempSync(path.join(os.tmpdir(), 'e2e-observability-'));
  writeFileSync(path.join(dir, 'tls.crt'), tls.cert);
  writeFileSync(path.join(dir, 'tls.key'), tls.key);
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

beforeEach(async () => {
  fake = await FakeApiServer.start();
  fake.upsert(pod('web-1'));
  fake.upsert(pod('web-2'));
  fake.upsert(openWebPdb());
});

afterEach(async () => {
  await Promise.all([...running].map((each) => each.close()));
  running.clear();
  await fake.close();
});

describe('metrics', () => {
  it('are scraped from their own plain-HTTP port after real /validate requests, with the documented names, types, labels and buckets', async () => {
    await start();
    expect((await evict('web-1')).response.allowed).toBe(true);
    fake.upsert(exhaustedPdb());
    await waitFor('the 429', async () => (await evict('web-1')).response.status?.code === 429);
    expect((await evict('web-2', true)).response.status?.code).toBe(429);
    fake.dropWatches();
    await waitFor('a watch restart', async () => samples((await scrape()).text, 'evictionguard_watch_restarts_total').length > 0);

    const { status, contentType, text } = await scrape();
    expect(status).toBe(200);
    expect(contentType).toMatch(/^text\/plain; version=0\.0\.4/);
    expect(types(text)).toMatchObject({
      evictionguard_admission_requests_total: 'counter',
      evictionguard_findings_total: 'counter',
      evictionguard_admission_duration_seconds: 'histogram',
      evictionguard_cluster_synced: 'gauge',
      evictionguard_watch_restarts_total: 'counter',
      evictionguard_policy_errors_total: 'counter',
      evictionguard_cert_expiry_timestamp_seconds: 'gauge',
      evictionguard_events_dropped_total: 'counter',
      evictionguard_event_writes_total: 'counter',
      process_cpu_user_seconds_total: 'counter',
      process_resident_memory_bytes: 'gauge',
      nodejs_eventloop_lag_seconds: 'gauge',
      nodejs_heap_size_used_bytes: 'gauge',
    });

    const requests = samples(text, 'evictionguard_admission_requests_total');
    expect(requests.every(({ labels }) => Object.keys(labels).sort().join() === 'code,decision,dry_run')).toBe(true);
    const count = (labels: Record<string, string>) => requests.find((sample) => JSON.stringify(sample.labels) === JSON.stringify(labels))?.value ?? 0;
    expect(count({ decision: 'allow', code: '200', dry_run: 'false' })).toBe(1);
    expect(count({ decision: 'deny', code: '429', dry_run: 'false' })).toBeGreaterThanOrEqual(1);
    expect(count({ decision: 'deny', code: '429', dry_run: 'true' })).toBe(1);
    const total = requests.reduce((sum, sample) => sum + sample.value, 0);

    const findings = samples(text, 'evictionguard_findings_total');
    expect(findings.every(({ labels }) => Object.keys(labels).sort().join() === 'action,check')).toBe(true);
    expect(findings.map(({ labels }) => `${labels.check}:${labels.action}`)).toEqual(expect.arrayContaining(['pdb/budget:deny', 'pdb/budget:audit']));

    const buckets = samples(text, 'evictionguard_admission_duration_seconds_bucket');
    expect(buckets.map(({ labels }) => labels.le)).toEqual([...ADMISSION_DURATION_BUCKETS.map(String), '+Inf']);
    expect(buckets[buckets.length - 1].value).toBe(total);
    expect(samples(text, 'evictionguard_admission_duration_seconds_count')[0].value).toBe(total);
    expect(samples(text, 'evictionguard_admission_duration_seconds_sum')[0].value).toBeGreaterThan(0);

    expect(samples(text, 'evictionguard_cluster_synced')).toEqual([{ labels: {}, value: 1 }]);
    expect(samples(text, 'evictionguard_cert_expiry_timestamp_seconds')).toEqual([{ labels: {}, value: webhook.certificate().notAfter.getTime() / 1000 }]);
    expect(samples(text, 'evictionguard_policy_errors_total')).toEqual([{ labels: {}, value: 0 }]);
    expect(samples(text, 'evictionguard_watch_restarts_total').map(({ labels }) => labels.resource)).toEqual(expect.arrayContaining(['pods', 'poddisruptionbudgets']));

    // Bounded labels: no pod, node or user names anywhere in our metrics.
    const ours = text.split('\n').filter((line) => line.startsWith('evictionguard_'));
    expect(ours.filter((line) => /web-1|web-2|node-a|kubernetes-admin/.test(line))).toEqual([]);
  });

  it('report the cluster as not synced until the initial list completes', async () => {
    fake.listPageDelayMs = 1500;
    webhook = await startWebhook(liveServeOptions(dir, fake, { metricsPort: 0, metricsAddress: '127.0.0.1' }), createLogger('silent'));
    running.add(webhook);
    expect(samples((await scrape()).text, 'evictionguard_cluster_synced')[0].value).toBe(0);
    await waitFor('synced', async () => samples((await scrape()).text, 'evictionguard_cluster_synced')[0].value === 1);
  });

  it('are not on the webhook port, and the metrics port serves nothing else', async () => {
    await start();
    expect((await httpsCall({ port: webhook.port, ca: tls.cert, path: '/metrics' })).status).toBe(404);
    expect((await scrape(webhook.metricsPort, '/audit/recent')).status).toBe(404);
  });

  it('follow the serving certificate when its files are rotated', async () => {
    const pairDir = mkdtempSync(path.join(dir, 'pair-'));
    const certPath = path.join(pairDir, 'tls.crt');
    const keyPath = path.join(pairDir, 'tls.key');
    writeFileSync(certPath, tls.cert);
    writeFileSync(keyPath, tls.key);
    await start({ tlsCert: certPath, tlsKey: keyPath, tlsReload: { debounceMs: 50, pollIntervalMs: 100 } });
    const expiry = async () => samples((await scrape()).text, 'evictionguard_cert_expiry_timestamp_seconds')[0].value;
    expect(await expiry()).toBe(webhook.certificate().notAfter.getTime() / 1000);

    const renewed = makeTestCertificate({ validDays: 90 });
    writeFileSync(keyPath, renewed.key);
    writeFileSync(certPath, renewed.cert);
    await waitFor('the renewed pair', () => webhook.certificate().notAfter.getTime() !== tls.notAfterMs);
    expect(await expiry()).toBe(webhook.certificate().notAfter.getTime() / 1000);
    expect(await expiry()).toBeGreaterThan(Date.now() / 1000 + 80 * 86_400);
  });

  it('have no listener unless a metrics port is given', async () => {
    await start({ metricsPort: undefined });
    expect(webhook.metricsPort).toBeUndefined();
  });
});

describe('Kubernetes Events', () => {
  it('writes one Event per denied pod and updates its count on repeated denials', async () => {
    await start();
    fake.upsert(exhaustedPdb());
    let denials = 0;
    await waitFor('the 429', async () => {
      const answer = await evict('web-1');
      if (!answer.response.allowed) denials++;
      return !answer.response.allowed;
    });
    for (let retry = 0; retry < 5; retry++) {
      expect((await evict('web-1')).response.status?.code).toBe(429);
      denials++;
      await new Promise((resolve) => setTimeout(resolve, 40));
    }
    await waitFor('the Event count to reach every denial', () => fake.events.forPod('shop', 'web-1')[0]?.count === denials);

    const events = fake.events.forPod('shop', 'web-1');
    expect(events).toHaveLength(1);
    expect(events[0]).toMatchObject({
      involvedObject: { apiVersion: 'v1', kind: 'Pod', namespace: 'shop', name: 'web-1', uid: 'web-1-uid' },
      reason: 'EvictionDenied',
      type: 'Warning',
      source: { component: 'eviction-guard' },
      reportingComponent: 'eviction-guard',
      reportingInstance: expect.any(String),
      message: expect.stringMatching(/^Cannot evict pod as it would violate the pod's disruption budget\.\n\[pdb\/budget\] PDB shop\/web-pdb/),
    });
    expect(Buffer.byteLength(events[0].message!)).toBeLessThanOrEqual(1024);
    const writes = fake.events.writes;
    expect(writes.filter((write) => write.method === 'POST')).toHaveLength(1);
    expect(writes.filter((write) => write.method === 'PATCH').length).toBeGreaterThanOrEqual(1);
    expect(writes.filter((write) => write.method === 'PATCH').length).toBeLessThan(denials);
    expect(writes.every((write) => write.status < 300)).toBe(true);
    expect(new Set(writes.filter((write) => write.method === 'PATCH').map((write) => write.contentType))).toEqual(new Set(['application/strategic-merge-patch+json']));
  });

  it('writes nothing for dry-run evictions', async () => {
    await start();
    fake.upsert(exhaustedPdb());
    await waitFor('the dry-run 429', async () => (await evict('web-2', true)).response.status?.code === 429);
    for (let retry = 0; retry < 3; retry++) expect((await evict('web-2', true)).response.allowed).toBe(false);
    // A real denial of another pod afterwards: once its Event is in, anything queued before it would be too.
    expect((await evict('web-1')).response.allowed).toBe(false);
    await waitFor('the Event of the real denial', () => fake.events.forPod('shop', 'web-1').length === 1);
    expect(fake.events.forPod('shop', 'web-2')).toEqual([]);
    expect(fake.events.writes.filter((write) => write.method === 'POST')).toHaveLength(1);
  });

  it('writes nothing for allowed evictions by default', async () => {
    await start();
    expect((await evict('web-1')).response.allowed).toBe(true);
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(fake.events.writes).toEqual([]);
  });

  it('answers admissions promptly while the Events API fails with 500 after 2 s', async () => {
    fake.events.failing = true;
    fake.events.delayMs = 2000;
    await start();
    fake.upsert(exhaustedPdb());
    await waitFor('the 429', async () => (await evict('web-1')).response.status?.code === 429);
    const latencies: number[] = [];
    for (let index = 0; index < 10; index++) {
      const started = performance.now();
      const answer = await evict(index % 2 === 0 ? 'web-1' : 'web-2');
      latencies.push(performance.now() - started);
      expect(answer.response.status?.code).toBe(429);
    }
    expect(Math.max(...latencies)).toBeLessThan(1500);
    await waitFor('a failed Event write', () => fake.events.writes.some((write) => write.status === 500), 5000);
    expect(fake.events.list()).toEqual([]);
    const errors = samples((await scrape()).text, 'evictionguard_event_writes_total').filter(({ labels }) => labels.result === 'error');
    expect(errors.reduce((sum, sample) => sum + sample.value, 0)).toBeGreaterThanOrEqual(1);
  }, 30_000);

  it('are not written when turned off', async () => {
    await start({ events: 'off' });
    fake.upsert(exhaustedPdb());
    await waitFor('the 429', async () => (await evict('web-1')).response.status?.code === 429);
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(fake.events.writes).toEqual([]);
  });
});

describe('start-up', () => {
  it('says Events are disabled without an API server (snapshot or demo mode)', async () => {
    const log = captureLog('info');
    webhook = await startWebhook({ port: 0, tlsCert: path.join(dir, 'tls.crt'), tlsKey: path.join(dir, 'tls.key'), logLevel: 'info', certDir: dir, events: 'deny' }, log.logger, demoClusterView());
    running.add(webhook);
    expect(log.messages()).toContain('Kubernetes Events are disabled: there is no API server to write them to (snapshot or demo mode)');
  });

  it('fails when the metrics port is taken', async () => {
    const taken = http.createServer();
    await new Promise<void>((resolve) => taken.listen(0, '127.0.0.1', resolve));
    const { port } = taken.address() as AddressInfo;
    try {
      await expect(
        startWebhook(
          { port: 0, tlsCert: path.join(dir, 'tls.crt'), tlsKey: path.join(dir, 'tls.key'), logLevel: 'silent', certDir: dir, metricsPort: port, metricsAddress: '127.0.0.1' },
          createLogger('silent'),
          demoClusterView(),
        ),
      ).rejects.toThrow(/EADDRINUSE/);
    } finally {
      await new Promise((resolve) => taken.close(resolve));
    }
  });
});

describe('audit trail', () => {
  it('has no /audit/recent with --audit-recent 0', async () => {
    await start({ auditRecent: 0 });
    await evict('web-1');
    expect((await httpsCall({ port: webhook.port, ca: tls.cert, path: '/audit/recent' })).status).toBe(404);
  });

  it('serves the last N decisions on /audit/recent over HTTPS, the same lines as the audit file', async () => {
    const auditFile = path.join(dir, `audit-${Date.now()}.log`);
    await start({ auditRecent: 5, auditFile, auditFileMaxBytes: 1024 * 1024, auditFileKeep: 2 });
    const uids: string[] = [];
    for (let index = 0; index < 7; index++) uids.push((await evict(index % 2 === 0 ? 'web-1' : 'web-2', index === 6)).response.uid);

    const recent = async (query: string) => httpsCall({ port: webhook.port, ca: tls.cert, path: `/audit/recent${query}`, headers: operatorHeaders(fake) });
    const three = await recent('?limit=3');
    expect(three.status).toBe(200);
    expect(three.headers['cache-control']).toBe('no-store');
    const body = JSON.parse(three.text) as { capacity: number; count: number; items: AuditEntry[] };
    expect(body.capacity).toBe(5);
    expect(body.count).toBe(5);
    expect(body.items.map((item) => item.audit.uid)).toEqual(uids.slice(4));
    expect(body.items[2]).toMatchObject({
      time: expect.stringMatching(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/),
      msg: 'eviction allowed',
      audit: { pod: 'shop/web-1', user: 'kubernetes-admin', dryRun: true, allowed: true, factSource: 'cache', confirmedLive: false, caller: 'unauthenticated' },
    });

    const all = JSON.parse((await recent('')).text) as { items: AuditEntry[] };
    expect(all.items.map((item) => item.audit.uid)).toEqual(uids.slice(2));

    for (const bad of ['?limit=0', '?limit=6', '?limit=abc', '?limit=-1', '?limit=2.5', '?limit=1&limit=2']) {
      const reply = await recent(bad);
      expect(reply.status).toBe(400);
      expect(JSON.parse(reply.text).error).toMatch(/^limit must be an integer from 1 to 5/);
    }

    await webhook.close();
    running.delete(webhook);
    const lines = readFileSync(auditFile, 'utf8').trimEnd().split('\n').map((line) => JSON.parse(line) as AuditEntry);
    expect(lines.map((line) => line.audit.uid)).toEqual(uids);
    expect(lines.slice(2)).toEqual(all.items);
  });
});
