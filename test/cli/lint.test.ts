import { mkdtempSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { lintReport, manifestFiles, parseLintOptions, renderLintTable, runLint, type LintReport } from '../../src/cli/lint';
import { SnapshotClusterView } from '../../src/cluster/snapshot';
import { UsageError } from '../../src/cli/usage';
import { LINT_CHECKS } from '../../src/lint/pdb-lint';
import { captureStdout, expectGolden } from '../helpers/golden';

const LINT_FIXTURES = path.join(__dirname, '../fixtures/lint');
const MANIFESTS = path.join(LINT_FIXTURES, 'manifests');
const SNAPSHOT = path.join(__dirname, '../fixtures/check/cluster.yaml');

function tempFile(name: string, text: string): string {
  const file = path.join(mkdtempSync(path.join(os.tmpdir(), 'eg-lint-')), name);
  writeFileSync(file, text);
  return file;
}

const reportOf = (files: string[], source: string) => lintReport(SnapshotClusterView.fromFiles(files).inventory(), source);

describe('eviction-guard lint: table output (golden files)', () => {
  it('manifests folder: every finding', () => {
    expectGolden(path.join(LINT_FIXTURES, 'manifests.txt'), renderLintTable(reportOf(manifestFiles([MANIFESTS]), 'test/fixtures/lint/manifests')));
  });

  it('a cluster snapshot, with pods and PDB statuses', () => {
    expectGolden(path.join(LINT_FIXTURES, 'snapshot.txt'), renderLintTable(reportOf([SNAPSHOT], 'test/fixtures/check/cluster.yaml')));
  });
});

describe('eviction-guard lint: findings from manifest files', () => {
  it('covers every finding kind, worst first, each with a fix', async () => {
    const { exitCode, stdout } = await captureStdout(() => runLint([MANIFESTS, '-o', 'json']));
    const report = JSON.parse(stdout) as LintReport;
    expect(report.findings.map(({ check, namespace, name }) => `${check} ${namespace}/${name}`)).toEqual([
      `${LINT_CHECKS.overlap} shop/db-ha-pdb`,
      `${LINT_CHECKS.neverAllows} shop/db-pdb`,
      `${LINT_CHECKS.neverAllows} shop/front-pdb`,
      `${LINT_CHECKS.neverAllows} shop/search-pdb`,
      `${LINT_CHECKS.invalidSelector} shop/typo-pdb`,
      `${LINT_CHECKS.unmanaged} tools/toolbox-pdb`,
      `${LINT_CHECKS.selectsNothing} shop/ghost-pdb`,
      `${LINT_CHECKS.legacySelector} shop/legacy-pdb`,
      `${LINT_CHECKS.selectsNothing} shop/no-selector-pdb`,
      `${LINT_CHECKS.noPdb} shop/api`,
    ]);
    expect(report.findings.every((finding) => finding.hint.length > 0)).toBe(true);
    expect(report.counts).toEqual({ error: 6, warning: 3, info: 1 });
    expect(exitCode).toBe(3);
  });

  it('reads only manifest files from a folder, and any file named on the command line', () => {
    expect(manifestFiles([MANIFESTS]).map((file) => path.basename(file))).toEqual(['pdbs.yaml', 'workloads.yaml']);
    const named = tempFile('pdb.txt', 'apiVersion: policy/v1\nkind: PodDisruptionBudget\nmetadata: {name: a}\nspec: {maxUnavailable: 0}\n');
    expect(manifestFiles([named])).toEqual([named]);
  });
});

describe('eviction-guard lint: exit codes reflect the worst severity', () => {
  const deployment = 'apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: web, namespace: shop}\nspec: {replicas: 3, template: {metadata: {labels: {app: web}}}}\n';
  const pdb = (spec: string) => `---\napiVersion: policy/v1\nkind: PodDisruptionBudget\nmetadata: {name: web-pdb, namespace: shop}\nspec: ${spec}\n`;

  it.each([
    ['no findings', deployment + pdb('{maxUnavailable: 1, selector: {matchLabels: {app: web}}}'), 0, 'no findings'],
    ['info only', deployment, 0, '0 error(s), 0 warning(s), 1 info'],
    ['a warning', deployment + pdb('{maxUnavailable: 1, selector: {matchLabels: {app: ghost}}}'), 1, '0 error(s), 1 warning(s), 1 info'],
    ['an error', deployment + pdb('{maxUnavailable: 0, selector: {matchLabels: {app: web}}}'), 3, '1 error(s), 0 warning(s), 0 info'],
  ])('%s', async (_name, manifest, code, summary) => {
    const { exitCode, stdout } = await captureStdout(() => runLint([tempFile('app.yaml', manifest)]));
    expect(exitCode).toBe(code);
    expect(stdout).toContain(summary);
  });

  it('is 4, with the reason on stderr, when a file cannot be parsed', async () => {
    const stderr = jest.spyOn(process.stderr, 'write').mockImplementation(() => true);
    try {
      const broken = tempFile('broken.yaml', 'kind: [unclosed\n');
      const { exitCode, stdout } = await captureStdout(() => runLint([broken]));
      expect(exitCode).toBe(4);
      expect(stdout).toBe('');
      expect(stderr).toHaveBeenCalledWith(expect.stringContaining(`snapshot ${broken}: document 1`));
    } finally {
      stderr.mockRestore();
    }
  });

  it('lints a snapshot given with --snapshot, as YAML on request', async () => {
    const { exitCode, stdout } = await captureStdout(() => runLint(['--snapshot', SNAPSHOT, '-o', 'yaml']));
    expect(exitCode).toBe(3);
    expect(stdout).toContain(`check: ${LINT_CHECKS.overlap}`);
    expect(stdout).toContain('source: ');
  });

  it.each([
    [['a.yaml', '--snapshot', 's.yaml'], 'give one source'],
    [['--kubeconfig', 'k', '--snapshot', 's'], 'give one source'],
    [['-o', 'wide'], '-o/--output must be one of'],
  ])('rejects %j as a usage error (exit 2)', (argv, message) => {
    expect(() => parseLintOptions(argv)).toThrow(UsageError);
    expect(() => parseLintOptions(argv)).toThrow(message);
  });
});
