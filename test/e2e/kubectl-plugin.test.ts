// The kubectl plugin: the package installed globally (npm install --global of the built package,
// offline, into a private prefix), and the real kubectl (test/helpers/tools.ts) finding
// kubectl-eviction_guard on PATH and running `kubectl eviction-guard ...` against the demo cluster.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { CHECK_USAGE } from '../../src/cli/check';
import { buildPackage, type BuiltPackage } from '../helpers/build';
import { toolPath } from '../helpers/tools';

const KUBECTL = toolPath('kubectl');
let built: BuiltPackage | undefined;
let home: string;
let prefix: string;

beforeAll(() => {
  built = buildPackage('kubectl-plugin-build-');
  home = mkdtempSync(path.join(os.tmpdir(), 'kubectl-plugin-'));
  prefix = path.join(home, 'global');
  const npm = spawnSync('npm', ['install', '--global', '--prefix', prefix, '--offline', '--no-audit', '--no-fund', '--ignore-scripts', built.root], { encoding: 'utf8' });
  if (npm.status !== 0) throw new Error(`npm install --global failed:\n${npm.stdout}${npm.stderr}`);
}, 180_000);

afterAll(() => {
  built?.remove();
  if (home) rmSync(home, { recursive: true, force: true });
});

/** Runs a command with only the global install's bin and node on PATH, and no cluster: the demo. */
function run(command: string, args: string[]) {
  const env: NodeJS.ProcessEnv = {
    PATH: [path.join(prefix, 'bin'), path.dirname(process.execPath), '/usr/bin', '/bin'].join(path.delimiter),
    HOME: home,
    KUBECONFIG: path.join(home, 'no-such-kubeconfig'),
  };
  return spawnSync(command, args, { cwd: home, env, encoding: 'utf8' });
}

describe('kubectl eviction-guard (the kubectl-eviction_guard bin)', () => {
  it('is found by kubectl plugin list after a global install', () => {
    const result = run(KUBECTL, ['plugin', 'list']);
    expect(result.status).toBe(0);
    expect(result.stdout).toContain(path.join(prefix, 'bin', 'kubectl-eviction_guard'));
    expect(result.stderr).not.toContain('warning');
  });

  it('shows its help in the plugin form', () => {
    const result = run(KUBECTL, ['eviction-guard', '--help']);
    expect(result.status).toBe(0);
    expect(result.stdout.split('\n')[0]).toBe('Usage: kubectl eviction-guard <command> [flags]');
    expect(result.stdout).toContain('Run "kubectl eviction-guard <command> --help" for a command\'s flags.');
    expect(run(KUBECTL, ['eviction-guard', 'check', '--help']).stdout.split('\n')[0]).toBe(CHECK_USAGE.split('\n')[0].replace('Usage: eviction-guard', 'Usage: kubectl eviction-guard'));
  });

  it('runs lint, with the exit code of its worst finding', () => {
    const result = run(KUBECTL, ['eviction-guard', 'lint']);
    expect(result.stdout).toContain('Linted 9 PDB(s) and 6 workload(s) from the demo cluster: 3 error(s), 1 warning(s), 0 info.');
    expect(result.status).toBe(3);
  });

  it('runs check --node, with exit code 1 when the drain would not complete', () => {
    const result = run(KUBECTL, ['eviction-guard', 'check', '--node', 'node-a', '-o', 'json']);
    expect(result.stderr).toContain('DEMO MODE');
    const report = JSON.parse(result.stdout) as { scope: string; completes: boolean; pods: { node: string }[] };
    expect(report).toMatchObject({ scope: 'node node-a', completes: false });
    expect(report.pods.length).toBeGreaterThan(0);
    expect(report.pods.every((pod) => pod.node === 'node-a')).toBe(true);
    expect(result.status).toBe(1);
  });

  it('answers a usage error in the plugin form too, with exit code 2', () => {
    const result = run(KUBECTL, ['eviction-guard', 'lint', '--no-such-flag']);
    expect(result.status).toBe(2);
    expect(result.stderr).toContain('Usage: kubectl eviction-guard lint');
  });

  it('is the same entry point as eviction-guard, which keeps its own name', () => {
    const result = run('eviction-guard', ['--help']);
    expect(result.status).toBe(0);
    expect(result.stdout.split('\n')[0]).toBe('Usage: eviction-guard <command> [flags]');
  });
});
