import { lintReport } from '../../src/cli/lint';
import { memoryInventory, type ClusterInventory } from '../../src/cluster/inventory';
import type { PdbFacts } from '../../src/domain';
import { PdbHealthMonitor, pdbFindingsHandler, type PdbHealthReport } from '../../src/lint/pdb-health';
import { LINT_CHECKS } from '../../src/lint/pdb-lint';
import { waitFor } from '../e2e/harness';
import { pdbFacts, podFacts } from '../helpers/facts';
import { captureLog } from '../helpers/log-capture';

const webPods = ['web-1', 'web-2', 'web-3'].map((name) => podFacts(name, { owner: undefined }));
const healthy = pdbFacts('web-pdb', { minAvailable: 1 });
const overlapping = pdbFacts('all-pdb', { selector: {}, minAvailable: 1 });

/** A view whose PDBs the test changes, as watch events would. */
class TestView {
  synced = true;
  pdbs: PdbFacts[] = [healthy];
  inventories = 0;
  inventory(): ClusterInventory {
    this.inventories++;
    return memoryInventory({ pods: webPods, pdbs: this.pdbs });
  }
  isSynced(): boolean {
    return this.synced;
  }
}

const monitors: PdbHealthMonitor[] = [];
function startMonitor(view: TestView, options: Partial<ConstructorParameters<typeof PdbHealthMonitor>[0]> = {}) {
  const log = captureLog();
  const reports: PdbHealthReport[] = [];
  const monitor = new PdbHealthMonitor({ logger: log.logger, intervalMs: 60_000, debounceMs: 30, maxDelayMs: 200, onReport: (report) => reports.push(report), ...options });
  monitors.push(monitor);
  monitor.start(view, 'the test cluster');
  return { monitor, reports, log };
}
afterEach(async () => {
  await Promise.all(monitors.splice(0).map((monitor) => monitor.close()));
});

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const checks = (report: PdbHealthReport | undefined) => report?.findings.map((finding) => `${finding.check} ${finding.namespace}/${finding.name}`);

describe('PdbHealthMonitor', () => {
  it('lints the view once it is synced, with the findings and tally `eviction-guard lint` reports', async () => {
    const view = new TestView();
    view.synced = false;
    view.pdbs = [healthy, overlapping];
    const { monitor, reports } = startMonitor(view);
    await sleep(100);
    expect(monitor.report()).toBeUndefined();
    view.synced = true;
    await waitFor('the first pass', () => reports.length === 1, 3000);
    const { lintedAt, lintingMs, durationMs, ...report } = monitor.report()!;
    expect(report).toEqual(lintReport(view.inventory(), 'the test cluster'));
    expect(report.findings.map((finding) => finding.check)).toEqual([LINT_CHECKS.overlap]);
    expect(Date.parse(lintedAt)).toBeGreaterThan(Date.now() - 5000);
    expect(lintingMs).toBeGreaterThanOrEqual(0);
    expect(durationMs).toBeGreaterThanOrEqual(lintingMs);
  });

  it('lints again every interval', async () => {
    const view = new TestView();
    const { reports } = startMonitor(view, { intervalMs: 50 });
    await waitFor('the first pass', () => reports.length >= 1);
    expect(checks(reports[0])).toEqual([]);
    view.pdbs = [healthy, overlapping];
    await waitFor('a pass that sees the change', () => checks(reports.at(-1))?.length === 1);
    expect(checks(reports.at(-1))).toEqual([`${LINT_CHECKS.overlap} shop/all-pdb`]);
  });

  it('lints a burst of PDB changes once, shortly after the last, without waiting for the interval', async () => {
    const view = new TestView();
    const { monitor, reports } = startMonitor(view, { debounceMs: 500, maxDelayMs: 5000 });
    await waitFor('the first pass', () => reports.length === 1);
    view.pdbs = [healthy, overlapping];
    for (let change = 0; change < 5; change++) {
      monitor.pdbsChanged();
      await sleep(10);
    }
    expect(reports).toHaveLength(1);
    await waitFor('the pass after the burst', () => reports.length === 2);
    await sleep(150);
    expect(reports).toHaveLength(2);
    expect(checks(monitor.report())).toEqual([`${LINT_CHECKS.overlap} shop/all-pdb`]);
  });

  it('does not let a steady trickle of changes postpone the pass past the longest delay', async () => {
    const view = new TestView();
    const { monitor, reports } = startMonitor(view, { debounceMs: 100, maxDelayMs: 150 });
    await waitFor('the first pass', () => reports.length === 1);
    const started = Date.now();
    while (reports.length < 2 && Date.now() - started < 1000) {
      monitor.pdbsChanged();
      await sleep(20);
    }
    // Without the longest delay, each change would have pushed the pass past the loop's end.
    expect(reports).toHaveLength(2);
  });

  it('gives the event loop back between namespaces, so requests are answered during a pass', async () => {
    const namespaces = Array.from({ length: 40 }, (_, index) => `team-${index}`);
    const order: string[] = [];
    const inventory = memoryInventory({
      pods: namespaces.flatMap((namespace) => webPods.map((pod) => ({ ...pod, namespace }))),
      pdbs: namespaces.map((namespace) => ({ ...healthy, namespace })),
    });
    const view = {
      isSynced: () => true,
      inventory: (): ClusterInventory => ({
        ...inventory,
        podsInNamespace: (namespace: string) => {
          order.push('lint');
          return inventory.podsInNamespace(namespace);
        },
      }),
    };
    const log = captureLog();
    const monitor = new PdbHealthMonitor({ logger: log.logger, sliceMs: 0 });
    monitors.push(monitor);
    // A request stand-in that wants the event loop at every turn.
    let serving = true;
    const serve = () => {
      order.push('request');
      if (serving) setImmediate(serve);
    };
    setImmediate(serve);
    try {
      monitor.start(view, 'many namespaces');
      await waitFor('the pass', () => monitor.report() !== undefined);
    } finally {
      serving = false;
    }
    const during = order.slice(order.indexOf('lint'), order.lastIndexOf('lint'));
    expect(during.filter((entry) => entry === 'request').length).toBeGreaterThan(5);
    expect(monitor.report()!.pdbs).toBe(40);
  });

  it('keeps the previous findings and logs the error when a pass fails', async () => {
    const view = new TestView();
    const { monitor, reports, log } = startMonitor(view, { intervalMs: 30 });
    await waitFor('the first pass', () => reports.length >= 1);
    const first = monitor.report();
    view.inventory = () => {
      throw new Error('the store went away');
    };
    await waitFor('the failed pass', () => log.messages(50).length > 0);
    expect(log.lines.find((line) => line.level === 50)).toMatchObject({ msg: 'PDB lint pass failed: keeping the previous findings', err: { message: 'the store went away' } });
    expect(monitor.report()).toBe(first);
  });

  it('logs a pass at info when the tally changes, and at debug when it does not', async () => {
    const view = new TestView();
    const { reports, log } = startMonitor(view, { intervalMs: 30 });
    await waitFor('two passes', () => reports.length >= 2);
    expect(log.lines.filter((line) => line.level === 30).map((line) => line.msg)).toEqual(['Linted 1 PDB(s) and 0 workload(s) from the test cluster: no findings.']);
    expect(log.lines.filter((line) => line.level === 20).length).toBeGreaterThanOrEqual(1);
  });

  it('stops linting when closed', async () => {
    const view = new TestView();
    const { monitor, reports } = startMonitor(view, { intervalMs: 20 });
    await waitFor('the first pass', () => reports.length >= 1);
    await monitor.close();
    const passes = reports.length;
    monitor.pdbsChanged();
    await sleep(120);
    expect(reports).toHaveLength(passes);
  });
});

describe('GET /pdb-findings (pdbFindingsHandler)', () => {
  function call(report: PdbHealthReport | undefined) {
    const response = { statusCode: 200, headers: {} as Record<string, string>, body: undefined as unknown };
    const res = {
      set: (name: string, value: string) => ((response.headers[name] = value), res),
      status: (code: number) => ((response.statusCode = code), res),
      json: (body: unknown) => ((response.body = body), res),
    };
    pdbFindingsHandler({ report: () => report })({} as never, res as never, () => undefined);
    return response;
  }

  it('answers 503 until the first pass has finished', () => {
    expect(call(undefined)).toEqual({
      statusCode: 503,
      headers: { 'Cache-Control': 'no-store' },
      body: { error: 'no PDB lint pass has finished yet: the first runs once the cluster view is synced' },
    });
  });

  it('serves the last report, never cached', () => {
    const report = { ...lintReport(memoryInventory({ pods: webPods, pdbs: [healthy, overlapping] }), 'x'), lintedAt: '2026-01-01T00:00:00.000Z', lintingMs: 1, durationMs: 2 };
    expect(call(report)).toEqual({ statusCode: 200, headers: { 'Cache-Control': 'no-store' }, body: report });
  });
});
