import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { KubeConfigError, resolveKubeConfig } from '../../src/cluster/kubeconfig';

const ENV_KEYS = ['KUBECONFIG', 'KUBERNETES_SERVICE_HOST', 'KUBERNETES_SERVICE_PORT'] as const;
let saved: Partial<Record<(typeof ENV_KEYS)[number], string>>;
let dir: string;
let emptyHome: string;

beforeEach(() => {
  saved = Object.fromEntries(ENV_KEYS.map((key) => [key, process.env[key]]));
  for (const key of ENV_KEYS) delete process.env[key];
  dir = mkdtempSync(path.join(os.tmpdir(), 'kubeconfig-test-'));
  emptyHome = path.join(dir, 'home-without-kube');
  mkdirSync(emptyHome);
});

afterEach(() => {
  for (const key of ENV_KEYS) {
    if (saved[key] === undefined) delete process.env[key];
    else process.env[key] = saved[key];
  }
  rmSync(dir, { recursive: true, force: true });
});

function kubeconfig(file: string, server: string, currentContext: string | null = 'main', contextName = 'main'): string {
  const config = {
    apiVersion: 'v1',
    kind: 'Config',
    clusters: [{ name: `cluster-${contextName}`, cluster: { server } }],
    users: [{ name: `user-${contextName}`, user: { token: 't' } }],
    contexts: [{ name: contextName, context: { cluster: `cluster-${contextName}`, user: `user-${contextName}` } }],
    ...(currentContext === null ? {} : { 'current-context': currentContext }),
  };
  mkdirSync(path.dirname(file), { recursive: true });
  writeFileSync(file, JSON.stringify(config));
  return file;
}

function server(config: ReturnType<typeof resolveKubeConfig>): string | undefined {
  return config?.getCurrentCluster()?.server;
}

describe('resolveKubeConfig', () => {
  it('uses --kubeconfig FILE first', () => {
    process.env.KUBECONFIG = kubeconfig(path.join(dir, 'env'), 'https://env:6443');
    const file = kubeconfig(path.join(dir, 'flag'), 'https://flag:6443');
    expect(server(resolveKubeConfig(file, { homeDir: emptyHome }))).toBe('https://flag:6443');
  });

  it('rejects an --kubeconfig that is missing, unparsable or without a current context', () => {
    expect(() => resolveKubeConfig(path.join(dir, 'nope'))).toThrow(new KubeConfigError(`cannot use kubeconfig ${path.join(dir, 'nope')}: no such file`));
    const broken = path.join(dir, 'broken');
    writeFileSync(broken, 'clusters: [unclosed');
    expect(() => resolveKubeConfig(broken)).toThrow(/^cannot use kubeconfig .*broken: /);
    const noContext = kubeconfig(path.join(dir, 'nocontext'), 'https://x:6443', null);
    expect(() => resolveKubeConfig(noContext)).toThrow(/has no current context with a cluster/);
  });

  it('uses the in-cluster service account when KUBERNETES_SERVICE_HOST and the token exist', () => {
    const root = path.join(dir, 'pod');
    const accountDir = path.join(root, 'var/run/secrets/kubernetes.io/serviceaccount');
    mkdirSync(accountDir, { recursive: true });
    writeFileSync(path.join(accountDir, 'token'), 'token');
    process.env.KUBERNETES_SERVICE_HOST = '10.96.0.1';
    process.env.KUBERNETES_SERVICE_PORT = '443';
    process.env.KUBECONFIG = kubeconfig(path.join(dir, 'env'), 'https://env:6443');
    expect(server(resolveKubeConfig(undefined, { serviceAccountRoot: root, homeDir: emptyHome }))).toBe('https://10.96.0.1:443');
  });

  it('skips in-cluster config without the token file, and uses $KUBECONFIG, merging its files first-wins', () => {
    process.env.KUBERNETES_SERVICE_HOST = '10.96.0.1';
    const first = kubeconfig(path.join(dir, 'a'), 'https://a:6443', 'a', 'a');
    const second = kubeconfig(path.join(dir, 'b'), 'https://b:6443', 'b', 'b');
    process.env.KUBECONFIG = [path.join(dir, 'missing'), first, second].join(path.delimiter);
    const config = resolveKubeConfig(undefined, { serviceAccountRoot: path.join(dir, 'no-pod'), homeDir: emptyHome });
    expect(server(config)).toBe('https://a:6443');
    expect(config?.getContexts().map((context) => context.name)).toEqual(['a', 'b']);
  });

  it('falls back to ~/.kube/config, and to undefined (the demo) when there is nothing', () => {
    const home = path.join(dir, 'home');
    kubeconfig(path.join(home, '.kube', 'config'), 'https://home:6443');
    process.env.KUBECONFIG = path.join(dir, 'missing');
    expect(server(resolveKubeConfig(undefined, { homeDir: home, serviceAccountRoot: dir }))).toBe('https://home:6443');
    expect(resolveKubeConfig(undefined, { homeDir: emptyHome, serviceAccountRoot: dir })).toBeUndefined();
  });
});
