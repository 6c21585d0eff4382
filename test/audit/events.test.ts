// The Event writer on its own, with a fake Events API and jest's clock: what an Event says, how
// repeats fold into one Event, how writes are paced, and what happens when the API fails.
import { combineFindings } from '../../src/decide';
import type { EvictionAttempt, Finding, Verdict } from '../../src/domain';
import { EventRecorder, firstLines, MAX_EVENT_MESSAGE_BYTES, type CoreEvent, type EventApi, type EventPatch, type EventRecorderOptions } from '../../src/audit/events';
import { WebhookMetrics } from '../../src/audit/metrics';
import { ApiWriteError } from '../../src/cluster/write';
import { attemptFor } from '../helpers/facts';
import { captureLog, WARN } from '../helpers/log-capture';

type Call = { verb: 'create'; namespace: string; event: CoreEvent } | { verb: 'patch'; namespace: string; name: string; patch: EventPatch; at: number };

class FakeEventApi implements EventApi {
  readonly calls: Call[] = [];
  /** Answers every call with this error while set. */
  failWith: Error | undefined;

  async create(namespace: string, event: CoreEvent): Promise<void> {
    this.calls.push({ verb: 'create', namespace, event: structuredClone(event) });
    if (this.failWith) throw this.failWith;
  }

  async patch(namespace: string, name: string, patch: EventPatch): Promise<void> {
    this.calls.push({ verb: 'patch', namespace, name, patch: { ...patch }, at: Date.now() });
    if (this.failWith) throw this.failWith;
  }

  get creates() {
    return this.calls.filter((call): call is Extract<Call, { verb: 'create' }> => call.verb === 'create');
  }

  get patches() {
    return this.calls.filter((call): call is Extract<Call, { verb: 'patch' }> => call.verb === 'patch');
  }
}

const budgetDenial: Finding = {
  check: 'pdb/budget',
  action: 'deny',
  code: 429,
  reason: 'TooManyRequests',
  upstreamMessage: "Cannot evict pod as it would violate the pod's disruption budget.",
  message: 'PDB shop/web-pdb (minAvailable=3) expected 3 pods, needs 3 healthy, has 3, allows 0 disruptions.',
  hint: 'scale the workload above 3 replicas',
  pdbs: ['shop/web-pdb'],
};
const denied: Verdict = combineFindings([budgetDenial]);
const allowed: Verdict = combineFindings([{ check: 'pdb/budget', action: 'audit', message: 'PDB shop/web-pdb allows 1 disruption(s).' }]);
const warned: Verdict = combineFindings([{ check: 'policy/night/window', action: 'warn', message: 'outside the window', warning: 'policy night: outside the maintenance window' }]);

const attempt = (overrides: Partial<EvictionAttempt> = {}) => attemptFor('web-1', overrides);

let api: FakeEventApi;
let log: ReturnType<typeof captureLog>;
let metrics: WebhookMetrics;
let recorder: EventRecorder;

function start(options: Partial<EventRecorderOptions> = {}): EventRecorder {
  recorder = new EventRecorder({ api, mode: 'deny', logger: log.logger, metrics, instance: 'eviction-guard-7c9f-abcde', ...options });
  return recorder;
}

const settle = () => jest.advanceTimersByTimeAsync(0);

async function metricValue(name: string, labels: Record<string, string> = {}): Promise<number> {
  const metric = (await metrics.registry.getMetricsAsJSON()).find((entry) => entry.name === name);
  const values = (metric?.values ?? []) as { value: number; labels: Record<string, string | number> }[];
  return values.filter((value) => Object.entries(labels).every(([key, wanted]) => String(value.labels[key]) === wanted)).reduce((sum, value) => sum + value.value, 0);
}

beforeEach(() => {
  jest.useFakeTimers({ now: Date.parse('2026-03-02T10:00:00.250Z') });
  api = new FakeEventApi();
  log = captureLog();
  metrics = new WebhookMetrics();
});

afterEach(async () => {
  const closed = recorder?.close(0);
  await jest.advanceTimersByTimeAsync(1);
  await closed;
  jest.useRealTimers();
});

describe('EventRecorder', () => {
  it('writes one Warning EvictionDenied Event on the pod for a denial, with the first lines of the message', async () => {
    start();
    recorder.record(attempt(), denied, 'web-1-uid');
    await settle();
    expect(api.calls).toHaveLength(1);
    const [{ namespace, event }] = api.creates;
    expect(namespace).toBe('shop');
    expect(event).toEqual({
      apiVersion: 'v1',
      kind: 'Event',
      metadata: { name: expect.stringMatching(/^web-1\.[0-9a-f]+$/), namespace: 'shop' },
      involvedObject: { apiVersion: 'v1', kind: 'Pod', namespace: 'shop', name: 'web-1', uid: 'web-1-uid' },
      reason: 'EvictionDenied',
      type: 'Warning',
      action: 'Evict',
      message: denied.status!.message,
      count: 1,
      firstTimestamp: '2026-03-02T10:00:00Z',
      lastTimestamp: '2026-03-02T10:00:00Z',
      source: { component: 'eviction-guard', host: 'eviction-guard-7c9f-abcde' },
      reportingComponent: 'eviction-guard',
      reportingInstance: 'eviction-guard-7c9f-abcde',
    });
    expect(await metricValue('evictionguard_event_writes_total', { verb: 'create', result: 'success' })).toBe(1);
  });

  it('leaves involvedObject.uid out when the pod was not read', async () => {
    start();
    recorder.record(attempt(), denied);
    await settle();
    expect(api.creates[0].event.involvedObject).toEqual({ apiVersion: 'v1', kind: 'Pod', namespace: 'shop', name: 'web-1' });
  });

  it('writes nothing for a dry run', async () => {
    start({ mode: 'all' });
    recorder.record(attempt({ dryRun: true }), denied, 'web-1-uid');
    recorder.record(attempt({ dryRun: true }), allowed, 'web-1-uid');
    await jest.advanceTimersByTimeAsync(60_000);
    expect(api.calls).toEqual([]);
  });

  it('writes nothing for allowed evictions in deny mode', async () => {
    start({ mode: 'deny' });
    recorder.record(attempt(), allowed, 'web-1-uid');
    recorder.record(attempt(), warned, 'web-1-uid');
    await settle();
    expect(api.calls).toEqual([]);
  });

  it('in all mode writes EvictionAllowed (Normal) and EvictionAllowedWithWarnings (Warning)', async () => {
    start({ mode: 'all' });
    recorder.record(attempt(), allowed, 'web-1-uid');
    recorder.record(attempt(), warned, 'web-1-uid');
    await settle();
    expect(api.creates.map(({ event }) => [event.type, event.reason, event.message])).toEqual([
      ['Normal', 'EvictionAllowed', 'eviction-guard allowed this eviction (checks: pdb/budget).'],
      ['Warning', 'EvictionAllowedWithWarnings', 'eviction-guard allowed this eviction with warnings:\npolicy night: outside the maintenance window'],
    ]);
  });

  it('folds a drain retrying every 5 s into one Event: at most one PATCH per 30 s, carrying the summed count', async () => {
    start();
    recorder.record(attempt(), denied, 'web-1-uid');
    await settle();
    for (let retry = 1; retry <= 24; retry++) {
      await jest.advanceTimersByTimeAsync(5_000);
      recorder.record(attempt(), denied, 'web-1-uid');
    }
    await jest.advanceTimersByTimeAsync(30_000);

    expect(api.creates).toHaveLength(1);
    const { patches } = api;
    expect(patches.length).toBeGreaterThanOrEqual(4);
    expect(patches.length).toBeLessThanOrEqual(5);
    for (let index = 1; index < patches.length; index++) expect(patches[index].at - patches[index - 1].at).toBeGreaterThanOrEqual(30_000);
    expect(patches.every(({ name }) => name === api.creates[0].event.metadata.name)).toBe(true);
    const last = patches[patches.length - 1].patch;
    expect(last).toEqual({ count: 25, lastTimestamp: '2026-03-02T10:02:00Z' });
    expect(patches.map(({ patch }) => patch.count)).toEqual([...patches.map(({ patch }) => patch.count)].sort((a, b) => a - b));
  });

  it('makes separate Events for another pod, another reason or another message', async () => {
    start({ mode: 'all' });
    recorder.record(attempt(), denied, 'web-1-uid');
    recorder.record(attemptFor('web-2'), denied, 'web-2-uid');
    recorder.record(attempt(), allowed, 'web-1-uid');
    recorder.record(attempt(), combineFindings([{ ...budgetDenial, message: 'PDB shop/web-pdb allows 0 disruptions.' }]), 'web-1-uid');
    await settle();
    expect(api.creates).toHaveLength(4);
    expect(new Set(api.creates.map(({ event }) => event.metadata.name)).size).toBe(4);
  });

  it('starts a new Event once the 10-minute window since the last occurrence has passed', async () => {
    start();
    recorder.record(attempt(), denied, 'web-1-uid');
    await settle();
    await jest.advanceTimersByTimeAsync(10 * 60_000 + 1);
    recorder.record(attempt(), denied, 'web-1-uid');
    await settle();
    expect(api.creates).toHaveLength(2);
    expect(api.creates[1].event.count).toBe(1);
    expect(api.creates[1].event.metadata.name).not.toBe(api.creates[0].event.metadata.name);
  });

  it('asks admitNew before making a new Event only: a refusal drops that occurrence, repeats of a made Event fold without asking', async () => {
    start();
    const admitNew = jest.fn(() => true);
    recorder.record(attempt(), denied, 'web-1-uid', admitNew);
    recorder.record(attempt(), denied, 'web-1-uid', admitNew);
    expect(admitNew).toHaveBeenCalledTimes(1);

    const refuse = jest.fn(() => false);
    recorder.record(attemptFor('web-2'), denied, 'web-2-uid', refuse);
    await jest.advanceTimersByTimeAsync(60_000);
    expect(refuse).toHaveBeenCalledTimes(1);
    expect(api.creates.map(({ event }) => event.involvedObject.name)).toEqual(['web-1']);
    expect(api.patches.map(({ patch }) => patch.count)).toEqual([2]);

    // Refused before, admitted now: the next occurrence makes the Event.
    recorder.record(attemptFor('web-2'), denied, 'web-2-uid', admitNew);
    await settle();
    expect(api.creates.map(({ event }) => [event.involvedObject.name, event.count])).toEqual([
      ['web-1', 1],
      ['web-2', 1],
    ]);
  });

  it('says whether a decision would get an Event in its mode', () => {
    start({ mode: 'deny' });
    expect([recorder.wouldRecord(attempt(), denied), recorder.wouldRecord(attempt(), allowed), recorder.wouldRecord(attempt({ dryRun: true }), denied)]).toEqual([true, false, false]);
  });

  it('never waits on the API: record() returns while a write is still pending', async () => {
    let release: () => void = () => {};
    const hanging: EventApi = { create: () => new Promise<void>((resolve) => (release = resolve)), patch: async () => {} };
    recorder = new EventRecorder({ api: hanging, mode: 'deny', logger: log.logger });
    for (let index = 0; index < 100; index++) recorder.record(attemptFor(`web-${index}`), denied, `uid-${index}`);
    expect(recorder.pending).toBe(99);
    release();
  });

  it('backs off while the API fails, logs at warn, and gives an Event up after 3 attempts', async () => {
    api.failWith = new ApiWriteError('POST', '/api/v1/namespaces/shop/events', 'HTTP 500 InternalError', 500);
    start();
    recorder.record(attempt(), denied, 'web-1-uid');
    await jest.advanceTimersByTimeAsync(5 * 60_000);
    expect(api.creates).toHaveLength(3);
    const warnings = log.lines.filter((line) => line.level === WARN);
    expect(warnings.map((line) => line.msg)).toEqual([
      'could not write a Kubernetes Event; will retry',
      'could not write a Kubernetes Event; will retry',
      'could not write a Kubernetes Event; giving up on it',
    ]);
    expect(warnings[0]).toMatchObject({ pod: 'shop/web-1', reason: 'EvictionDenied', verb: 'create', error: 'POST /api/v1/namespaces/shop/events: HTTP 500 InternalError' });
    expect(await metricValue('evictionguard_event_writes_total', { verb: 'create', result: 'error' })).toBe(3);

    // The API recovers: the next denial creates a new Event.
    api.failWith = undefined;
    recorder.record(attempt(), denied, 'web-1-uid');
    await jest.advanceTimersByTimeAsync(60_000);
    expect(api.creates).toHaveLength(4);
    expect(api.creates[3].event.count).toBe(1);
  });

  it('drops the oldest queued Events when the queue is full, counting and logging it', async () => {
    let release: () => void = () => {};
    const slow: EventApi = {
      create: (_namespace, event) => {
        api.calls.push({ verb: 'create', namespace: 'shop', event });
        return new Promise<void>((resolve) => (release = resolve));
      },
      patch: async () => {},
    };
    recorder = new EventRecorder({ api: slow, mode: 'deny', logger: log.logger, metrics, queueSize: 3 });
    for (let index = 0; index < 6; index++) recorder.record(attemptFor(`web-${index}`), denied, `uid-${index}`);
    // web-0 is being written; web-1 and web-2 were dropped for web-3..5.
    expect(recorder.pending).toBe(3);
    expect(await metricValue('evictionguard_events_dropped_total')).toBe(2);
    expect(log.messages(WARN)).toEqual(['the Kubernetes Event queue is full: dropped the oldest Events (the Events API is slow or failing)']);
    for (let index = 0; index < 4; index++) {
      release();
      await settle();
    }
    expect(api.creates.map(({ event }) => event.involvedObject.name)).toEqual(['web-0', 'web-3', 'web-4', 'web-5']);
  });

  it('creates the Event again, with the whole count, when a PATCH answers 404 (the Event expired)', async () => {
    start({ patchIntervalMs: 0 });
    recorder.record(attempt(), denied, 'web-1-uid');
    await settle();
    api.failWith = new ApiWriteError('PATCH', '/api/v1/namespaces/shop/events/x', 'HTTP 404 NotFound', 404);
    recorder.record(attempt(), denied, 'web-1-uid');
    await settle();
    api.failWith = undefined;
    await settle();
    expect(api.calls.map((call) => call.verb)).toEqual(['create', 'patch', 'create']);
    expect(api.creates[1].event.count).toBe(2);
    expect(api.creates[1].event.metadata.name).not.toBe(api.creates[0].event.metadata.name);
  });

  it('writes the count still owed when closed', async () => {
    start();
    recorder.record(attempt(), denied, 'web-1-uid');
    await settle();
    recorder.record(attempt(), denied, 'web-1-uid');
    recorder.record(attempt(), denied, 'web-1-uid');
    await settle();
    expect(api.patches).toEqual([]);
    const closed = recorder.close();
    await settle();
    await closed;
    expect(api.patches.map(({ patch }) => patch.count)).toEqual([3]);
    recorder.record(attempt(), denied, 'web-1-uid');
    await settle();
    expect(api.calls).toHaveLength(2);
  });

  it('gives up waiting for a hung API at the close deadline', async () => {
    const hung: EventApi = { create: (_namespace, _event, signal) => new Promise<void>((_resolve, reject) => signal.addEventListener('abort', () => reject(new Error('aborted')))), patch: async () => {} };
    recorder = new EventRecorder({ api: hung, mode: 'deny', logger: log.logger });
    recorder.record(attempt(), denied, 'web-1-uid');
    recorder.record(attemptFor('web-2'), denied, 'web-2-uid');
    const closed = recorder.close(1000);
    await jest.advanceTimersByTimeAsync(1000);
    await closed;
    expect(log.messages(WARN)).toContain('shutdown: gave up writing the remaining Kubernetes Events');
  });
});

describe('firstLines', () => {
  it('keeps whole lines within 1 KB', () => {
    const line = 'x'.repeat(400);
    expect(firstLines([line, line, line].join('\n'))).toBe(`${line}\n${line}`);
  });

  it('cuts a first line longer than 1 KB', () => {
    const clipped = firstLines('é'.repeat(2000));
    expect(Buffer.byteLength(clipped)).toBeLessThanOrEqual(MAX_EVENT_MESSAGE_BYTES);
    expect(clipped.endsWith('…')).toBe(true);
  });
});
