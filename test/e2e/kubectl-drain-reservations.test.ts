// Issue 10's acceptance test, with the real client. The real `kubectl drain` drains a node holding
// the 4 replicas of shop/web under an EvictionPolicy `maxDisruptions: {per: owner, count: 1}`
// (Deny). kubectl sends the 4 evictions at once; the fake API server calls the webhook through the
// project's ValidatingWebhookConfiguration, whose Service has **two** webhook replicas as endpoints
// (each call goes to the next one, as kube-proxy spreads connections), and evicts as kube-apiserver
// does: the pod terminates for a while, then is gone. The replicas agree only through the
// reservation Leases they write into the fake.
//
// Before reservations, every eviction of the burst counted 0 pods in disruption and all 4 pods
// terminated at once. Here, at no moment may more than 1 pod of shop/web be terminating, the others
// get 429 naming the pod in disruption (kubectl retries them every 5 s), and the drain finishes
// because pods are seen terminating and gone: the reservation TTL is far longer than the drain.
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { createLogger } from '../../src/audit/logger';
import { startWebhook, type RunningWebhook } from '../../src/cli/serve';
import { leaseName, recordFromLease } from '../../src/reservation/lease';
import type { ScopeRef } from '../../src/reservation/record';
import { FakeApiServer } from '../fake-apiserver';
import type { PodDeletion } from '../fake-eviction';
import { evictionPolicyObject, namespaceObject, podObject, workloadObject } from '../helpers/objects';
import { makeTestCertificate } from '../helpers/tls';
import { httpsCall } from '../server/https-client';
import { liveServeOptions, operatorHeaders, useServingPairDir, waitFor } from './harness';
import { kubectlDrain, kubectlFor, routeWebhookService, WEBHOOK_DNS_NAME, WEBHOOK_NAME, webhookConfiguration } from './kubectl';

const kubectl = kubectlFor(__filename);
const describeWithKubectl = kubectl === undefined ? describe.skip : describe;

const tls = makeTestCertificate({ dnsNames: [WEBHOOK_DNS_NAME] });
const servingDir = useServingPairDir('e2e-drain-burst-', tls);

const NODE = 'node-1';
const REPLICA_SET = 'web-7c5ddbdf54';
const PODS = ['2xkqp', '8m4tz', 'b9wlc', 'qj6rn'].map((suffix) => `${REPLICA_SET}-${suffix}`);
const POLICY = 'one-web-pod-at-a-time';
const LEASE_NAMESPACE = 'eviction-guard';
const OWNER_SCOPE: ScopeRef = { scope: 'owner', key: 'shop/Deployment/web' };
/** How long an evicted pod terminates before it is gone: shorter than kubectl's 5 s retry, so each retry round finds the last pod gone. */
const TERMINATION_MS = 2000;
/**
 * Far longer than the drain may take (its --timeout): no reservation can lapse while it runs, so
 * the drain can only progress because the webhook sees the pods terminating and gone.
 */
const RESERVATION_TTL_MS = 30 * 60_000;
const DRAIN_TIMEOUT_SECONDS = 150;

let home: string;
let fake: FakeApiServer;
let replicas: RunningWebhook[] = [];

beforeEach(async () => {
  home = mkdtempSync(path.join(os.tmpdir(), 'e2e-drain-burst-home-'));
  fake = await FakeApiServer.start();
  for (const name of [NODE, 'node-2']) fake.upsert({ apiVersion: 'v1', kind: 'Node', metadata: { name, labels: { 'kubernetes.io/hostname': name } }, spec: {} });
  fake.upsert(namespaceObject('shop'));
  fake.upsert(workloadObject('Deployment', 'shop', 'web', PODS.length));
  fake.upsert(workloadObject('ReplicaSet', 'shop', REPLICA_SET, PODS.length, { kind: 'Deployment', name: 'web' }));
  for (const name of PODS) fake.upsert(podObject('shop', name, { labels: { app: 'web' }, owner: { kind: 'ReplicaSet', name: REPLICA_SET }, nodeName: NODE }));
  fake.upsert(
    evictionPolicyObject(POLICY, {
      action: 'Deny',
      match: { namespaces: ['shop'], podSelector: { matchLabels: { app: 'web' } } },
      rules: [{ maxDisruptions: { per: 'owner', count: 1 } }],
    }),
  );
  fake.upsert(webhookConfiguration(tls.cert));
  fake.evictions.terminationMs = TERMINATION_MS;
});

afterEach(async () => {
  await Promise.all(replicas.map((replica) => replica.close()));
  replicas = [];
  await fake.close();
  rmSync(home, { recursive: true, force: true });
});

/** Two webhook processes' worth of state (index, policies, reserver, connections), both behind the webhook's Service. */
async function startReplicas(count: number): Promise<void> {
  for (let index = 0; index < count; index++) {
    const options = liveServeOptions(servingDir.path, fake, { reservationNamespace: LEASE_NAMESPACE, reservationTtlMs: RESERVATION_TTL_MS });
    replicas.push(await startWebhook(options, createLogger('silent')));
  }
  routeWebhookService(fake, replicas.map((replica) => replica.port));
  await waitFor('every replica synced with the policy loaded', async () => {
    const details = await Promise.all(replicas.map(async (replica) => (await httpsCall({ port: replica.port, ca: tls.cert, path: '/readyz/details', headers: operatorHeaders(fake) })).text));
    return details.every((text) => {
      const ready = JSON.parse(text) as { synced: boolean; policies: { loaded: string[] } };
      return ready.synced && ready.policies.loaded.includes(POLICY);
    });
  }, 30_000);
}

/** The most pods terminating at once, replaying every step the fake's evictions took, in order. */
function mostTerminatingAtOnce(deletions: readonly PodDeletion[]): { most: number; when: string[] } {
  const terminating = new Set<string>();
  let most = 0;
  let when: string[] = [];
  for (const deletion of deletions) {
    if (deletion.state === 'terminating') terminating.add(deletion.name);
    else terminating.delete(deletion.name);
    if (terminating.size > most) {
      most = terminating.size;
      when = [...terminating];
    }
  }
  return { most, when };
}

const isSuccessfulWrite = (call: { method: string; status: number }) => (call.method === 'POST' && call.status === 201) || (call.method === 'PUT' && call.status === 200);

describeWithKubectl('kubectl drain under maxDisruptions {per: owner, count: 1}, through two webhook replicas', () => {
  it('evicts the 4 replicas one at a time: the others get 429 naming the pod in disruption, and the drain completes', async () => {
    await startReplicas(2);
    const started = Date.now();
    const run = await kubectlDrain(kubectl!, fake, home, NODE, ['--ignore-daemonsets', `--timeout=${DRAIN_TIMEOUT_SECONDS}s`]).done;
    const tookMs = Date.now() - started;
    const explain = `kubectl exited ${String(run.code)} after ${tookMs} ms\n--- stdout\n${run.stdout}--- stderr\n${run.stderr}`;

    // What kubectl printed, with any failure below: the drain's story is in it.
    try {
      // Every call reached a replica and was answered: the webhook fails open (failurePolicy Ignore),
      // so a call that failed would have let an eviction through unguarded.
      expect(fake.admission.calls.filter((call) => call.outcome !== 'allowed' && call.outcome !== 'denied')).toEqual([]);
      // Both replicas answered evictions of the burst.
      expect(new Set(fake.admission.calls.map((call) => call.endpoint))).toEqual(new Set(replicas.map((replica) => `127.0.0.1:${replica.port}`)));

      // Never more than 1 pod of shop/web in disruption: every pod was evicted and terminated, one at a time.
      const { most, when } = mostTerminatingAtOnce(fake.evictions.deletions);
      expect({ most, when }).toEqual({ most: 1, when: [expect.any(String)] });
      expect(fake.evictions.deletions.filter((deletion) => deletion.state === 'terminating').map((deletion) => deletion.name).sort()).toEqual(PODS);
      expect(fake.readAll('Pod', 'shop')).toEqual([]);

      // Some evictions got 429, and kubectl said so, naming the pod in disruption.
      const allowed = fake.admission.calls.filter((call) => call.outcome === 'allowed');
      const denied = fake.admission.calls.filter((call) => call.outcome === 'denied');
      expect(allowed).toHaveLength(PODS.length);
      expect(denied.length).toBeGreaterThan(0);
      expect(fake.evictions.answered.filter((answer) => answer.code === 429)).toHaveLength(denied.length);
      const retries = run.stderr.split('\n').filter((line) => line.includes('(will retry after 5s)'));
      expect(retries).toHaveLength(denied.length);
      const named = retries.map((line) => {
        const match = /^error when evicting pods\/"(\S+)" -n "shop" \(will retry after 5s\): pods "\S+" is forbidden: admission webhook "(\S+)" denied the request: (.*)$/.exec(line);
        expect(match).not.toBeNull();
        expect(match![2]).toBe(WEBHOOK_NAME);
        return match![3];
      });
      expect(named[0]).toMatch(new RegExp(`^eviction-guard blocked this eviction for now \\(policy/${POLICY}/maxDisruptions\\); retrying later can succeed\\.$`));
      const findings = run.stderr.split('\n').filter((line) => line.startsWith(`[policy/${POLICY}/maxDisruptions]`));
      expect(findings).toHaveLength(denied.length);
      for (const finding of findings) {
        expect(finding).toMatch(new RegExp(`^\\[policy/${POLICY}/maxDisruptions\\] 1 pod of Deployment shop/web is already in disruption \\((reserved: )?${REPLICA_SET}-\\w{5}\\); the limit is 1\\.`));
      }
      // The burst's first round is held back by the reservation alone: no pod is terminating yet
      // when the concurrent evictions are decided.
      expect(findings.some((finding) => finding.includes('(reserved: '))).toBe(true);

      // The drain completes.
      expect({ code: run.code, last: run.stdout.trim().split('\n').at(-1) }).toEqual({ code: 0, last: `node/${NODE} drained` });
      for (const name of PODS) expect(run.stdout).toContain(`pod/${name} evicted`);

      // Each allowed eviction was written into the owner's Lease first, exactly once.
      expect(fake.leases.calls.filter(isSuccessfulWrite)).toHaveLength(PODS.length);
      const lease = fake.leases.get(LEASE_NAMESPACE, leaseName(OWNER_SCOPE));
      expect(lease?.metadata.labels).toMatchObject({ 'app.kubernetes.io/component': 'reservations', 'evictionguard.io/scope': 'owner' });
      // Not the TTL: the drain took less than a reservation lives, so none of them lapsed while it ran
      // (the last one written is still live now). Slots came free as pods were seen terminating and gone.
      expect(tookMs).toBeLessThan(RESERVATION_TTL_MS);
      const { record } = recordFromLease(OWNER_SCOPE, lease);
      expect(record.entries.length).toBeGreaterThan(0);
      for (const entry of record.entries) expect(entry.expiresAt).toBeGreaterThan(Date.now());
    } catch (error) {
      (error as Error).message += `\n\n${explain}`;
      throw error;
    }
  }, (DRAIN_TIMEOUT_SECONDS + 30) * 1000);
});
