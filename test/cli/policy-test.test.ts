// `eviction-guard test`: finding suites, validating them (exit 2 naming the file and the field),
// running their cases through the webhook's decision path, and reporting (exit 0 / 1).
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { stringify } from 'yaml';
import { parseTestOptions, runTest, TEST_USAGE, type TestReport } from '../../src/cli/test';
import { usageAs } from '../../src/cli/program';
import { UsageError } from '../../src/cli/usage';
import { evictionPolicyObject, namespaceObject, nodeObject, podObject, workloadObject } from '../helpers/objects';

const DEMO = path.join(__dirname, '../../demo/cluster.yaml');

/** Runs the command in-process with stdout and stderr captured. */
async function run(...argv: string[]): Promise<{ exitCode: number; stdout: string; stderr: string }> {
  const out: string[] = [];
  const err: string[] = [];
  const capture = (into: string[]) => (chunk: string | Uint8Array) => {
    into.push(typeof chunk === 'string' ? chunk : Buffer.from(chunk).toString('utf8'));
    return true;
  };
  const stdout = jest.spyOn(process.stdout, 'write').mockImplementation(capture(out));
  const stderr = jest.spyOn(process.stderr, 'write').mockImplementation(capture(err));
  try {
    const exitCode = await runTest(argv);
    return { exitCode, stdout: out.join(''), stderr: err.join('') };
  } finally {
    stdout.mockRestore();
    stderr.mockRestore();
  }
}

/** A fresh folder with these files (objects are written as YAML, several as documents). */
function folder(files: Record<string, unknown>): string {
  const root = mkdtempSync(path.join(os.tmpdir(), 'eg-policy-test-'));
  for (const [name, content] of Object.entries(files)) {
    const file = path.join(root, name);
    mkdirSync(path.dirname(file), { recursive: true });
    const text = typeof content === 'string' ? content : Array.isArray(content) ? content.map((document) => stringify(document)).join('---\n') : stringify(content);
    writeFileSync(file, text);
  }
  return root;
}

const PROTECT_DB = evictionPolicyObject('protect-db', { match: { podSelector: { matchLabels: { app: 'db' } } }, rules: [{ protect: {} }] });
const CLUSTER = [
  namespaceObject('shop', { env: 'prod' }),
  workloadObject('StatefulSet', 'shop', 'db', 3),
  podObject('shop', 'db-0', { labels: { app: 'db' }, owner: { kind: 'StatefulSet', name: 'db' } }),
  podObject('shop', 'db-1', { labels: { app: 'db' }, owner: { kind: 'StatefulSet', name: 'db' } }),
  podObject('shop', 'web-0', { labels: { app: 'web' } }),
];

interface CaseSpec {
  name: string;
  pod: string;
  user: string;
  groups?: string[];
  dryRun?: boolean;
  now?: string;
  expect: Record<string, unknown>;
}

function suite(overrides: Record<string, unknown> = {}, cases: CaseSpec[] = [{ name: 'db is protected', pod: 'shop/db-0', user: 'jane', expect: { allowed: false, code: 403 } }]) {
  return {
    apiVersion: 'evictionguard.io/v1alpha1',
    kind: 'EvictionPolicyTest',
    metadata: { name: 'shop' },
    policies: ['policy.yaml'],
    cluster: { objects: CLUSTER },
    now: '2024-06-05T08:00:00Z',
    cases,
    ...overrides,
  };
}

describe('eviction-guard test: running cases', () => {
  it('passes cases whose answer is as expected, exit 0, with a kyverno-like table', async () => {
    const root = folder({
      'policy.yaml': PROTECT_DB,
      'shop.test.yaml': suite({}, [
        { name: 'db is protected', pod: 'shop/db-0', user: 'jane', expect: { allowed: false, code: 403, check: 'policy/protect-db/protect', message: 'Pod shop/db-0 is protected' } },
        { name: 'web goes', pod: 'shop/web-0', user: 'jane', expect: { allowed: true } },
      ]),
    });
    const { exitCode, stdout } = await run(root);
    expect(stdout).toBe(
      [
        'SUITE   CASE              RESULT   REASON', //
        'shop    db is protected   PASS',
        'shop    web goes          PASS',
        '',
        '2 passed, 0 failed',
        '',
      ].join('\n'),
    );
    expect(exitCode).toBe(0);
  });

  it('fails a case whose answer differs, exit 1, saying what was expected and what came', async () => {
    const root = folder({
      'policy.yaml': PROTECT_DB,
      'shop.test.yaml': suite({}, [
        { name: 'web is protected', pod: 'shop/web-0', user: 'jane', expect: { allowed: false } },
        { name: 'db goes', pod: 'shop/db-0', user: 'jane', expect: { allowed: true } },
        { name: 'wrong code and check', pod: 'shop/db-0', user: 'jane', expect: { allowed: false, code: 429, check: 'pdb/budget' } },
        { name: 'wrong message', pod: 'shop/db-0', user: 'jane', expect: { allowed: false, message: 'ask the DBA' } },
        { name: 'no warning', pod: 'shop/web-0', user: 'jane', expect: { allowed: true, warning: 'careful' } },
      ]),
    });
    const { exitCode, stdout } = await run(root);
    const reasons = Object.fromEntries(
      stdout
        .split('\n')
        .slice(1, 6)
        .map((line) => line.split(/ {3,}/))
        .map(([, name, result, reason]) => [name, `${result} ${reason}`]),
    );
    expect(reasons).toEqual({
      'web is protected': 'FAIL expected denied, got allowed',
      'db goes': 'FAIL expected allowed, got denied 403 by policy/protect-db/protect',
      'wrong code and check': 'FAIL expected code 429, got denied 403 by policy/protect-db/protect; expected check pdb/budget, got denied 403 by policy/protect-db/protect',
      'wrong message': expect.stringMatching(/^FAIL expected a message containing "ask the DBA", got "eviction-guard denied this eviction \(policy\/protect-db\/protect\)/),
      'no warning': 'FAIL expected a warning containing "careful", got no warnings',
    });
    expect(stdout).toContain('0 passed, 5 failed\n');
    expect(exitCode).toBe(1);
  });

  it('prints the whole report as JSON with -o json', async () => {
    const root = folder({ 'policy.yaml': PROTECT_DB, 'shop.test.yaml': suite() });
    const { exitCode, stdout } = await run(root, '-o', 'json');
    const report = JSON.parse(stdout) as TestReport;
    expect(report).toEqual({
      suites: 1,
      passed: 1,
      failed: 0,
      results: [
        {
          suite: 'shop',
          file: path.join(root, 'shop.test.yaml'),
          case: 'db is protected',
          pod: 'shop/db-0',
          passed: true,
          failures: [],
          expected: { allowed: false, code: 403 },
          got: {
            allowed: false,
            code: 403,
            check: 'policy/protect-db/protect',
            message: expect.stringContaining('[policy/protect-db/protect]'),
            warnings: [],
          },
        },
      ],
    });
    expect(exitCode).toBe(0);
  });

  it('decides against a snapshot file, with the PDB mirror in the loop', async () => {
    // The snapshot's path is relative to the suite's folder, which is one below the temporary folder.
    const root = folder({
      'policy.yaml': PROTECT_DB,
      'demo.test.yaml': suite({ cluster: { snapshot: path.join('..', path.relative(os.tmpdir(), DEMO)) } }, [
        { name: 'web-pdb can never allow a disruption', pod: 'shop/web-7d9c5b7f6-x2x9k', user: 'jane', expect: { allowed: false, code: 429, check: 'pdb/budget' } },
        { name: 'two PDBs give the bare 500', pod: 'shop/cart-5d8f7b6c4-q7w2e', user: 'jane', expect: { allowed: false, code: 500, check: 'pdb/overlap' } },
        { name: 'no PDB selects the debug shell', pod: 'tools/debug-shell', user: 'jane', expect: { allowed: true } },
      ]),
    });
    const { exitCode, stdout } = await run(path.join(root, 'demo.test.yaml'));
    expect(stdout).toContain('3 passed, 0 failed');
    expect(exitCode).toBe(0);
  });

  it("threads the suite's time, a case's own time, dryRun and the default group into the policies", async () => {
    const cel = evictionPolicyObject('morning-only', {
      rules: [{ cel: { expression: 'now.getHours("UTC") < 9 && !request.dryRun && "system:authenticated" in request.userInfo.groups' } }],
    });
    const window = evictionPolicyObject('weekends-only', { rules: [{ window: { allow: ['Sat,Sun'], timeZone: 'UTC' } }] });
    const root = folder({
      'cel.yaml': cel,
      'window.yaml': window,
      'time.test.yaml': suite({ policies: ['cel.yaml', 'window.yaml'], now: '2024-06-08T08:00:00Z' }, [
        { name: 'Saturday morning', pod: 'shop/web-0', user: 'jane', expect: { allowed: true } },
        { name: 'Saturday noon', pod: 'shop/web-0', user: 'jane', now: '2024-06-08T12:00:00Z', expect: { allowed: false, check: 'policy/morning-only/cel' } },
        { name: 'Wednesday morning', pod: 'shop/web-0', user: 'jane', now: '2024-06-05T08:00:00Z', expect: { allowed: false, code: 429, check: 'policy/weekends-only/window' } },
        { name: 'a dry run', pod: 'shop/web-0', user: 'jane', dryRun: true, expect: { allowed: false, check: 'policy/morning-only/cel' } },
        { name: 'groups given', pod: 'shop/web-0', user: 'jane', groups: ['dev'], expect: { allowed: false, check: 'policy/morning-only/cel' } },
      ]),
    });
    const { exitCode, stdout } = await run(root);
    expect(stdout).toContain('5 passed, 0 failed');
    expect(exitCode).toBe(0);
  });

  it("gives the policies the suite's inline Nodes and every pod annotation, in the object shape", async () => {
    const policy = evictionPolicyObject('cordoned-and-marked', {
      rules: [{ cel: { expression: '!(node != null && node.spec.unschedulable && "team" in pod.metadata.annotations && pod.metadata.annotations["team"] == "data")' } }],
    });
    const objects = [
      nodeObject('node-a', { unschedulable: true }),
      nodeObject('node-b'),
      podObject('shop', 'etl-a', { nodeName: 'node-a', annotations: { team: 'data' } }),
      podObject('shop', 'etl-b', { nodeName: 'node-b', annotations: { team: 'data' } }),
      podObject('shop', 'web-a', { nodeName: 'node-a', annotations: { team: 'web' } }),
    ];
    const root = folder({
      'policy.yaml': policy,
      'nodes.test.yaml': suite({ cluster: { objects } }, [
        { name: 'data pod on the cordoned node', pod: 'shop/etl-a', user: 'jane', expect: { allowed: false, check: 'policy/cordoned-and-marked/cel' } },
        { name: 'data pod on a schedulable node', pod: 'shop/etl-b', user: 'jane', expect: { allowed: true } },
        { name: 'other team on the cordoned node', pod: 'shop/web-a', user: 'jane', expect: { allowed: true } },
      ]),
    });
    const { exitCode, stdout, stderr } = await run(root);
    expect(stderr).toBe('');
    expect(stdout).toContain('3 passed, 0 failed');
    expect(exitCode).toBe(0);
  });

  it('starts every case with no reservations: a counting rule allows each first eviction', async () => {
    const policy = evictionPolicyObject('one-at-a-time', { rules: [{ maxDisruptions: { per: 'owner', count: 1 } }] });
    // Sharing a store, db-1 would wait for db-0, reserved by the case before.
    const cases = ['db-0', 'db-1'].map((pod) => ({ name: `evicts ${pod}`, pod: `shop/${pod}`, user: 'jane', expect: { allowed: true } }));
    const root = folder({ 'policy.yaml': policy, 'shop.test.yaml': suite({}, cases) });
    const { exitCode, stdout } = await run(root);
    expect(stdout).toContain('2 passed, 0 failed');
    expect(exitCode).toBe(0);
  });
});

describe('eviction-guard test: finding suites', () => {
  it('searches folders recursively for *.test.yaml and *.test.yml, past other YAML, dot-folders and node_modules', async () => {
    const valid = suite({ policies: ['../policy.yaml'] });
    const root = folder({
      'policy.yaml': PROTECT_DB,
      'a/one.test.yaml': { ...valid, metadata: { name: 'one' } },
      'b/two.test.yml': { ...valid, metadata: { name: 'two' } },
      'b/cluster.yaml': { ...valid, metadata: { name: 'not-a-suite-file' } },
      '.hidden/three.test.yaml': { ...valid, metadata: { name: 'hidden' } },
      'node_modules/four.test.yaml': { ...valid, metadata: { name: 'dependency' } },
      'c/other-kind.test.yaml': PROTECT_DB,
    });
    const { exitCode, stdout } = await run(root, '-o', 'json');
    expect((JSON.parse(stdout) as TestReport).results.map((result) => result.suite)).toEqual(['one', 'two']);
    expect(exitCode).toBe(0);
  });

  it('reads every suite of a multi-document file, and a file named on the command line whatever its name', async () => {
    const root = folder({ 'policy.yaml': PROTECT_DB, 'suites.yaml': [suite({ metadata: { name: 'one' } }), PROTECT_DB, suite({ metadata: { name: 'two' } })] });
    const { exitCode, stdout } = await run(path.join(root, 'suites.yaml'), '-o', 'json');
    expect((JSON.parse(stdout) as TestReport).results.map((result) => result.suite)).toEqual(['one', 'two']);
    expect(exitCode).toBe(0);
  });

  it.each<[string, () => string[], RegExp]>([
    ['a folder without suites', () => [folder({ 'policy.yaml': PROTECT_DB })], /no EvictionPolicyTest suite found in .* \(suites are files named \*\.test\.yaml or \*\.test\.yml\)/],
    ['a path that does not exist', () => ['/no/such/path'], /\/no\/such\/path: .*no such file or directory/],
    ['a named file without a suite', () => [path.join(folder({ 'policy.yaml': PROTECT_DB }), 'policy.yaml')], /policy\.yaml: holds no document of kind EvictionPolicyTest/],
    ['a suite file that is not YAML', () => [folder({ 'bad.test.yaml': 'cases: [\n' })], /bad\.test\.yaml: not valid YAML: /],
  ])('exits 2 for %s', async (_name, paths, message) => {
    const { exitCode, stdout, stderr } = await run(...paths());
    expect(stderr).toMatch(message);
    expect(stderr).toMatch(/^eviction-guard test: /);
    expect(stdout).toBe('');
    expect(exitCode).toBe(2);
  });
});

describe('eviction-guard test: invalid suites exit 2, naming the file and the field', () => {
  const db = { name: 'db', pod: 'shop/db-0', user: 'jane', expect: { allowed: false } };
  it.each<[string, Record<string, unknown>, CaseSpec[] | undefined, string]>([
    ['no time', { now: undefined }, undefined, 'now: must be an RFC 3339 time with a zone, such as 2024-06-05T08:00:00Z'],
    ['a time without a zone', { now: '2024-06-05T08:00:00' }, undefined, 'now: must be an RFC 3339 time'],
    ['a pod without its namespace', {}, [{ ...db, pod: 'db-0' }], 'cases[0].pod: must be NAMESPACE/NAME of a pod, such as shop/web-0'],
    ['a code on an allowed case', {}, [{ ...db, expect: { allowed: true, code: 429 } }], 'cases[0].expect.code: only a denial has a code: remove it, or expect allowed: false'],
    ['no allowed', {}, [{ ...db, expect: { code: 429 } }], 'cases[0].expect.allowed: say allowed: true or allowed: false'],
    ['an unknown field', {}, [{ ...db, usr: 'jane' } as CaseSpec], 'cases[0]: Unrecognized key: "usr"'],
    ['two cases of one name', {}, [db, db], 'cases[1].name: "db" is already cases[0]: name each case once'],
    ['both a snapshot and objects', { cluster: { snapshot: 'a.yaml', objects: CLUSTER } }, undefined, 'cluster: give either snapshot (a file) or objects (inline), not both'],
    ['no policies', { policies: [] }, undefined, 'policies: name at least one policy file'],
    ['a wrong apiVersion', { apiVersion: 'v1' }, undefined, 'apiVersion: must be evictionguard.io/v1alpha1'],
    ['a policy file that is missing', { policies: ['policy.yaml', 'missing.yaml'] }, undefined, 'policies[1]: policy path'],
    ['a case on a pod the cluster lacks', {}, [{ ...db, pod: 'shop/db-9' }], "cases[0].pod: shop/db-9 is not a pod of the suite's cluster"],
    ['an inline object without a name', { cluster: { objects: [...CLUSTER, { kind: 'Pod', metadata: {} }] } }, undefined, 'cluster.objects[5]: Pod has no metadata.name'],
    ['a snapshot file that is missing', { cluster: { snapshot: 'missing.yaml' } }, undefined, 'cluster.snapshot: snapshot '],
  ])('%s', async (_name, overrides, cases, message) => {
    const root = folder({ 'policy.yaml': PROTECT_DB, 'shop.test.yaml': suite(overrides, cases) });
    const { exitCode, stdout, stderr } = await run(root);
    expect(stderr).toContain(`eviction-guard test: ${path.join(root, 'shop.test.yaml')}: `);
    expect(stderr).toContain(message);
    expect(stdout).toBe('');
    expect(exitCode).toBe(2);
  });

  it('names the policy, its field and the document of a multi-document suite file', async () => {
    const invalid = evictionPolicyObject('typo', { rules: [{ windows: {} }] });
    const root = folder({ 'policy.yaml': PROTECT_DB, 'typo.yaml': invalid, 'shop.test.yaml': [suite(), suite({ metadata: { name: 'two' }, policies: ['policy.yaml', 'typo.yaml'] })] });
    const { exitCode, stderr } = await run(root);
    expect(stderr).toContain(`shop.test.yaml, document 2: policies[1]: policy "typo" (file ${path.join(root, 'typo.yaml')}): spec.rules[0]: Unrecognized key: "windows"`);
    expect(exitCode).toBe(2);
  });

  it('runs no suite when any is invalid', async () => {
    const root = folder({ 'policy.yaml': PROTECT_DB, 'good.test.yaml': suite(), 'bad.test.yaml': suite({ now: 'noon' }) });
    const { exitCode, stdout, stderr } = await run(root);
    expect(stderr.trim().split('\n')).toEqual([expect.stringContaining('bad.test.yaml: now: must be an RFC 3339 time')]);
    expect(stdout).toBe('');
    expect(exitCode).toBe(2);
  });
});

describe('eviction-guard test: the command line', () => {
  it('needs a PATH and a known output format', () => {
    expect(() => parseTestOptions([])).toThrow(new UsageError('give at least one PATH: a suite file or a folder of them', TEST_USAGE));
    expect(() => parseTestOptions(['x', '-o', 'wide'])).toThrow('-o/--output must be one of table, json, yaml, got "wide"');
    expect(parseTestOptions(['a', 'b', '-o', 'json'])).toEqual({ paths: ['a', 'b'], output: 'json' });
    expect(parseTestOptions(['--help'])).toBe('help');
  });

  it('shows its usage in the kubectl plugin form when run as the plugin', () => {
    expect(usageAs(TEST_USAGE, 'kubectl eviction-guard').split('\n')[0]).toBe('Usage: kubectl eviction-guard test PATH... [-o table|json|yaml]');
  });
});
