// The real helm (test/helpers/tools.ts) for the chart tests: `helm template` and `helm lint` with
// values given as JSON on stdin, run asynchronously so that a suite renders its value sets at once.
import { execFile } from 'node:child_process';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { toolPath } from '../helpers/tools';
import { CHART, parseDocuments, type K8sObject } from './k8s';

/** Throws (failing the suite loudly) when the global setup has not extracted helm. */
export const HELM = toolPath('helm');

export interface Release {
  name?: string;
  namespace?: string;
  values?: Record<string, unknown>;
}

export interface HelmResult {
  status: number;
  stdout: string;
  stderr: string;
}

export const DEFAULT_RELEASE = { name: 'eviction-guard', namespace: 'eviction-guard' };

/** Runs helm with `input` on stdin; never rejects for a non-zero exit. */
export function runHelm(args: string[], input = ''): Promise<HelmResult> {
  return new Promise((resolve, reject) => {
    const child = execFile(HELM, args, { encoding: 'utf8', maxBuffer: 64 * 1024 * 1024 }, (error, stdout, stderr) => {
      const status = error === null ? 0 : typeof error.code === 'number' ? error.code : undefined;
      if (status === undefined) reject(error);
      else resolve({ status, stdout, stderr });
    });
    child.stdin?.end(input);
  });
}

function templateArgs(release: Release, extra: string[] = []): string[] {
  const { name, namespace } = { ...DEFAULT_RELEASE, ...release };
  return ['template', name, CHART, '--namespace', namespace, '--include-crds', '--values', '-', ...extra];
}

/** `helm template` of the chart for `release`; the result as text, for failures. */
export function helmTemplateResult(release: Release = {}, extra: string[] = []): Promise<HelmResult> {
  return runHelm(templateArgs(release, extra), JSON.stringify(release.values ?? {}));
}

/** The objects `helm template` renders for `release`; rejects with helm's message when it fails. */
export async function helmTemplate(release: Release = {}, extra: string[] = []): Promise<K8sObject[]> {
  const result = await helmTemplateResult(release, extra);
  if (result.status !== 0) throw new Error(`helm template failed (${result.status}): ${result.stderr}`);
  return parseDocuments(result.stdout);
}

/** `helm lint --strict` with the values of `release`. */
export function helmLint(release: Release = {}): Promise<HelmResult> {
  const { namespace } = { ...DEFAULT_RELEASE, ...release };
  return runHelm(['lint', CHART, '--strict', '--namespace', namespace, '--values', '-'], JSON.stringify(release.values ?? {}));
}

/** Renders every release, a few helm processes at a time (each takes 0.1–0.3 s, mostly start-up). */
export async function helmTemplateAll<K extends string>(releases: Record<K, Release>, concurrency = 4): Promise<Record<K, K8sObject[]>> {
  const names = Object.keys(releases) as K[];
  const rendered = {} as Record<K, K8sObject[]>;
  let next = 0;
  const worker = async () => {
    while (next < names.length) {
      const name = names[next++];
      rendered[name] = await helmTemplate(releases[name]).catch((error: unknown) => {
        throw new Error(`value set "${name}": ${error instanceof Error ? error.message : String(error)}`);
      });
    }
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, names.length) }, worker));
  return rendered;
}

export interface DiscoveryServer {
  kubeconfig: string;
  /** GET paths the server answered, in order. */
  requests: string[];
  close(): Promise<void>;
}

/**
 * Just enough of an API server for `helm template --dry-run=server`: version, discovery of the
 * kinds in `kinds` (so that helm can map every rendered object), and GET of `existing` objects;
 * everything else is 404. Plain HTTP on 127.0.0.1; the kubeconfig is written into `dir`.
 */
export async function startDiscoveryServer(dir: string, kinds: K8sObject[], existing: K8sObject[]): Promise<DiscoveryServer> {
  const plural = (kind: string) => `${kind.toLowerCase()}${kind.endsWith('s') ? 'es' : 's'}`;
  const byGroupVersion = new Map<string, Map<string, boolean>>();
  for (const object of kinds) {
    const resources = byGroupVersion.get(object.apiVersion) ?? new Map<string, boolean>();
    resources.set(object.kind, object.metadata?.namespace !== undefined);
    byGroupVersion.set(object.apiVersion, resources);
  }
  const prefix = (groupVersion: string) => (groupVersion.includes('/') ? `/apis/${groupVersion}` : `/api/${groupVersion}`);
  const routes = new Map<string, unknown>([
    ['/version', { major: '1', minor: '33', gitVersion: 'v1.33.0' }],
    ['/api', { kind: 'APIVersions', versions: ['v1'], serverAddressByClientCIDRs: [] }],
  ]);
  const groups = [...byGroupVersion.keys()].filter((groupVersion) => groupVersion.includes('/'));
  routes.set('/apis', {
    kind: 'APIGroupList',
    apiVersion: 'v1',
    groups: groups.map((groupVersion) => {
      const [name, version] = groupVersion.split('/');
      return { name, versions: [{ groupVersion, version }], preferredVersion: { groupVersion, version } };
    }),
  });
  for (const [groupVersion, resources] of byGroupVersion) {
    routes.set(prefix(groupVersion), {
      kind: 'APIResourceList',
      groupVersion,
      resources: [...resources].map(([kind, namespaced]) => ({ name: plural(kind), singularName: kind.toLowerCase(), namespaced, kind, verbs: ['get', 'list', 'create', 'update'] })),
    });
  }
  for (const object of existing) {
    const namespace = object.metadata.namespace === undefined ? '' : `/namespaces/${object.metadata.namespace}`;
    routes.set(`${prefix(object.apiVersion)}${namespace}/${plural(object.kind)}/${object.metadata.name}`, object);
  }
  const requests: string[] = [];
  const server = http.createServer((request, response) => {
    const route = new URL(request.url ?? '/', 'http://discovery').pathname;
    requests.push(route);
    const body = request.method === 'GET' ? routes.get(route) : undefined;
    response.writeHead(body === undefined ? 404 : 200, { 'Content-Type': 'application/json' });
    response.end(JSON.stringify(body ?? { kind: 'Status', apiVersion: 'v1', status: 'Failure', reason: 'NotFound', code: 404 }));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const kubeconfig = path.join(dir, 'kubeconfig');
  const address = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  writeFileSync(
    kubeconfig,
    JSON.stringify({
      apiVersion: 'v1',
      kind: 'Config',
      clusters: [{ name: 'discovery', cluster: { server: address } }],
      users: [{ name: 'tester', user: { token: 'not-a-secret' } }],
      contexts: [{ name: 'discovery', context: { cluster: 'discovery', user: 'tester' } }],
      'current-context': 'discovery',
    }),
    { mode: 0o600 },
  );
  return { kubeconfig, requests, close: () => new Promise((resolve) => server.close(() => resolve())) };
}
