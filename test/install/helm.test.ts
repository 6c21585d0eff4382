// charts/eviction-guard through the real helm (test/helpers/tools.ts): `helm template` with default
// and non-default values, every object valid for its schema and the install keeping the same safety
// properties as manifests/; `helm lint --strict`; and the chart's own refusals of bad values. Every
// value set is rendered once, up front, a few helm processes at a time.
import { X509Certificate, createPrivateKey } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseServeOptions } from '../../src/cli/serve';
import { helmLint, helmTemplate, helmTemplateAll, helmTemplateResult, startDiscoveryServer, type Release } from './helm';
import {
  CHART,
  certManagerProblems,
  find,
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

const DEFAULT_OBJECTS = [
  'ClusterRole/eviction-guard',
  'ClusterRole/eviction-guard-reader',
  'ClusterRoleBinding/eviction-guard',
  'ConfigMap/eviction-guard-dashboard',
  'CustomResourceDefinition/evictionpolicies.evictionguard.io',
  'Deployment/eviction-guard',
  'NetworkPolicy/eviction-guard',
  'PodDisruptionBudget/eviction-guard',
  'Role/eviction-guard',
  'RoleBinding/eviction-guard',
  'Secret/eviction-guard-tls',
  'Service/eviction-guard',
  'ServiceAccount/eviction-guard',
  'ValidatingWebhookConfiguration/eviction-guard',
];

/** Every value set the tests use. */
const RELEASES = {
  default: {},
  /** Another release name and namespace, and every switch flipped. */
  custom: {
    name: 'guard',
    namespace: 'ops',
    values: {
      replicaCount: 3,
      failurePolicy: 'Fail',
      certs: { source: 'cert-manager' },
      serviceMonitor: { enabled: true, labels: { release: 'prometheus' } },
      prometheusRule: { enabled: true, labels: { release: 'prometheus' } },
      grafanaDashboard: { enabled: false },
      namespaceExclusions: ['kube-system', 'ops'],
      priorityClass: { create: true },
      logLevel: 'debug',
    },
  },
  existingSecret: { values: { certs: { source: 'existing-secret', existingSecret: 'my-tls', caBundle: 'Q0E=' } } },
  clusterIssuer: { values: { certs: { source: 'cert-manager', certManager: { issuerRef: { kind: 'ClusterIssuer', name: 'corp-ca' } } } } },
  warn: { values: { mode: 'warn' } },
  audit: { values: { mode: 'audit' } },
  pdbGuardDeny: { values: { pdbGuard: { mode: 'deny' }, failurePolicy: 'Fail' } },
  pdbGuardOff: { values: { pdbGuard: { mode: 'off' } } },
  givenPriorityClass: { values: { priorityClassName: 'platform-critical', priorityClass: { create: true } } },
  noPdb: { values: { podDisruptionBudget: { enabled: false } } },
  reservationTtl: { values: { reservationTTLSeconds: 30 } },
  /** Monitoring on, the dashboard in Grafana's namespace with a folder annotation. */
  monitoring: {
    values: {
      serviceMonitor: { enabled: true },
      prometheusRule: { enabled: true },
      grafanaDashboard: { namespace: 'grafana', annotations: { grafana_folder: 'Kubernetes' } },
    },
  },
} satisfies Record<string, Release>;

let rendered: Record<keyof typeof RELEASES, K8sObject[]>;
beforeAll(async () => {
  rendered = await helmTemplateAll(RELEASES);
}, 60_000);

const args = (objects: K8sObject[]): string[] => one(objects, 'Deployment').spec.template.spec.containers[0].args;
/** clientConfig.caBundle of every webhook entry (eviction, then PDB guard). */
const caBundles = (objects: K8sObject[]): unknown[] => one(objects, 'ValidatingWebhookConfiguration').webhooks.map((entry: K8sObject) => entry.clientConfig.caBundle);

describe('the Helm chart with default values', () => {
  const objects = () => rendered.default;

  it('renders the expected objects', () => {
    expect(ids(objects())).toEqual(DEFAULT_OBJECTS);
  });

  it('holds only objects valid for their schemas', () => {
    expect(objects().flatMap(schemaProblems)).toEqual([]);
  });

  it('keeps every safety property', () => {
    expect(safetyProblems(objects(), { namespace: 'eviction-guard', failurePolicy: 'Ignore', replicas: 2 })).toEqual([]);
  });

  it('gives the server arguments `serve` accepts (no --mode for enforce)', () => {
    const [command, ...flags] = args(objects());
    expect(command).toBe('serve');
    expect(parseServeOptions(flags)).toMatchObject({ port: 8443, tlsCert: '/etc/eviction-guard/tls/tls.crt', tlsKey: '/etc/eviction-guard/tls/tls.key', logLevel: 'info' });
    expect(flags.some((arg) => arg.startsWith('--mode'))).toBe(false);
  });

  it('generates a serving certificate for the Service, signed by the CA in the caBundle', () => {
    const secret = one(objects(), 'Secret');
    expect(secret.type).toBe('kubernetes.io/tls');
    expect(tlsSecretName(objects())).toBe(secret.metadata.name);
    const decode = (field: string) => Buffer.from(secret.data[field], 'base64').toString('utf8');
    const ca = new X509Certificate(decode('ca.crt'));
    const serving = new X509Certificate(decode('tls.crt'));
    expect(serving.verify(ca.publicKey)).toBe(true);
    expect(serving.checkPrivateKey(createPrivateKey(decode('tls.key')))).toBe(true);
    expect(serving.subjectAltName).toBe('DNS:eviction-guard.eviction-guard.svc, DNS:eviction-guard.eviction-guard.svc.cluster.local');
    expect(ca.ca).toBe(true);
    expect(caBundles(objects())).toEqual([secret.data['ca.crt'], secret.data['ca.crt']]);
  });

  it('versions the image with the appVersion, which is the package version', () => {
    const chart = parseDocuments(readFileSync(path.join(CHART, 'Chart.yaml'), 'utf8'))[0];
    const { version } = JSON.parse(readFileSync(path.join(REPO, 'package.json'), 'utf8')) as { version: string };
    expect(chart.appVersion).toBe(version);
    expect(one(objects(), 'Deployment').spec.template.spec.containers[0].image).toBe(`ghcr.io/eviction-guard/eviction-guard:${version}`);
  });
});

describe('the Helm chart on upgrade (helm template --dry-run=server, which runs lookup)', () => {
  let dir: string;
  beforeAll(() => {
    dir = mkdtempSync(path.join(os.tmpdir(), 'helm-lookup-'));
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('keeps the existing certificate Secret, so caBundle and certificate stay a pair', async () => {
    const data = { 'tls.crt': 'Y3J0', 'tls.key': 'a2V5', 'ca.crt': 'Y2E=' };
    // What the first install left, with the ownership metadata helm checks before it adopts an object.
    const installed = {
      apiVersion: 'v1',
      kind: 'Secret',
      type: 'kubernetes.io/tls',
      metadata: {
        name: 'eviction-guard-tls',
        namespace: 'eviction-guard',
        labels: { 'app.kubernetes.io/managed-by': 'Helm' },
        annotations: { 'meta.helm.sh/release-name': 'eviction-guard', 'meta.helm.sh/release-namespace': 'eviction-guard' },
      },
      data,
    };
    const server = await startDiscoveryServer(dir, rendered.default, [installed]);
    try {
      const upgraded = await helmTemplate({}, ['--dry-run=server', '--disable-openapi-validation', '--kubeconfig', server.kubeconfig]);
      expect(server.requests).toContain('/api/v1/namespaces/eviction-guard/secrets/eviction-guard-tls');
      expect(one(upgraded, 'Secret').data).toEqual(data);
      expect(caBundles(upgraded)).toEqual(['Y2E=', 'Y2E=']);
    } finally {
      await server.close();
    }
  });
});

describe('the Helm chart with non-default values', () => {
  const objects = () => rendered.custom;

  it('renders the expected objects', () => {
    expect(ids(objects())).toEqual(
      [
        'Certificate/guard-eviction-guard-ca',
        'Certificate/guard-eviction-guard-serving',
        'ClusterRole/guard-eviction-guard',
        'ClusterRole/guard-eviction-guard-reader',
        'ClusterRoleBinding/guard-eviction-guard',
        'CustomResourceDefinition/evictionpolicies.evictionguard.io',
        'Deployment/guard-eviction-guard',
        'Issuer/guard-eviction-guard-ca',
        'Issuer/guard-eviction-guard-selfsigned',
        'NetworkPolicy/guard-eviction-guard',
        'PodDisruptionBudget/guard-eviction-guard',
        'PriorityClass/guard-eviction-guard',
        'PrometheusRule/guard-eviction-guard',
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
    expect(objects().flatMap(schemaProblems)).toEqual([]);
  });

  it('keeps every safety property', () => {
    expect(safetyProblems(objects(), { namespace: 'ops', failurePolicy: 'Fail', replicas: 3 })).toEqual([]);
  });

  it('gets its certificate from cert-manager, for the Service name, with the CA injected', () => {
    expect(certManagerProblems(objects(), 'ops')).toEqual([]);
  });

  it('excludes the release namespace and the listed ones, each once, from both webhook entries', () => {
    const [evictions, pdbs] = one(objects(), 'ValidatingWebhookConfiguration').webhooks;
    const [byName] = evictions.namespaceSelector.matchExpressions;
    expect(byName).toEqual({ key: 'kubernetes.io/metadata.name', operator: 'NotIn', values: ['ops', 'kube-system'] });
    expect(pdbs.name).toBe('pdbs.evictionguard.io');
    expect(pdbs.namespaceSelector).toEqual(evictions.namespaceSelector);
  });

  it('scrapes the metrics port through the Service', () => {
    const monitor = one(objects(), 'ServiceMonitor');
    const service = one(objects(), 'Service');
    expect(monitor.metadata.labels.release).toBe('prometheus');
    expect(service.spec.ports.map((port: K8sObject) => [port.name, port.targetPort])).toEqual([
      ['https', 'https'],
      ['metrics', 'metrics'],
    ]);
    expect(monitor.spec.endpoints[0].port).toBe('metrics');
    expect(one(objects(), 'Deployment').spec.template.spec.containers[0].ports).toContainEqual({ name: 'metrics', containerPort: 9090, protocol: 'TCP' });
  });

  it('runs with its PriorityClass and the log level asked for', () => {
    expect(one(objects(), 'Deployment').spec.template.spec.priorityClassName).toBe('guard-eviction-guard');
    expect(one(objects(), 'PriorityClass')).toMatchObject({ value: 1000000, preemptionPolicy: 'Never', globalDefault: false });
    expect(args(objects())).toContain('--log-level=debug');
  });
});

describe('the Helm chart certificate sources and value checks', () => {
  it('uses an existing Secret and its CA with certs.source existing-secret', () => {
    const objects = rendered.existingSecret;
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
  ])('refuses %s', async (_name, values, message) => {
    const result = await helmTemplateResult({ values });
    expect(result.status).not.toBe(0);
    expect(result.stderr).toContain(message);
  });

  it('signs with a given issuer instead of its own CA chain', () => {
    const objects = rendered.clusterIssuer;
    expect(find(objects, 'Issuer')).toEqual([]);
    expect(ids(find(objects, 'Certificate'))).toEqual(['Certificate/eviction-guard-serving']);
    expect(one(objects, 'Certificate').spec.issuerRef).toEqual({ kind: 'ClusterIssuer', name: 'corp-ca' });
    expect(certManagerProblems(objects, 'eviction-guard')).toEqual([]);
  });

  it('passes --reservation-ttl when it is not the default 120 seconds', () => {
    expect(args(rendered.default).some((arg) => arg.startsWith('--reservation-ttl'))).toBe(false);
    const flags = args(rendered.reservationTtl);
    expect(flags).toContain('--reservation-ttl=30');
    expect(parseServeOptions(flags.slice(1))).toMatchObject({ reservationTtlMs: 30_000 });
  });

  it('passes --mode for warn and audit only', () => {
    expect(args(rendered.warn)).toContain('--mode=warn');
    expect(args(rendered.audit)).toContain('--mode=audit');
    expect(args(rendered.default).some((arg) => arg.startsWith('--mode'))).toBe(false);
  });

  it('installs the PDB guard entry (always Ignore) unless pdbGuard.mode is off, and passes --pdb-guard when not warn', () => {
    const entries = (objects: K8sObject[]) => one(objects, 'ValidatingWebhookConfiguration').webhooks.map((entry: K8sObject) => [entry.name, entry.failurePolicy]);
    expect(entries(rendered.default)).toEqual([
      ['evictions.evictionguard.io', 'Ignore'],
      ['pdbs.evictionguard.io', 'Ignore'],
    ]);
    expect(args(rendered.default).some((arg) => arg.startsWith('--pdb-guard'))).toBe(false);
    expect(entries(rendered.pdbGuardDeny)).toEqual([
      ['evictions.evictionguard.io', 'Fail'],
      ['pdbs.evictionguard.io', 'Ignore'],
    ]);
    expect(args(rendered.pdbGuardDeny)).toContain('--pdb-guard=deny');
    expect(entries(rendered.pdbGuardOff)).toEqual([['evictions.evictionguard.io', 'Ignore']]);
    expect(args(rendered.pdbGuardOff)).toContain('--pdb-guard=off');
    expect(safetyProblems(rendered.pdbGuardOff, { namespace: 'eviction-guard', failurePolicy: 'Ignore', pdbGuard: false })).toEqual([]);
  });

  it('uses a given priorityClassName without creating a class', () => {
    const objects = rendered.givenPriorityClass;
    expect(one(objects, 'Deployment').spec.template.spec.priorityClassName).toBe('platform-critical');
    expect(find(objects, 'PriorityClass')).toHaveLength(0);
  });

  it('can leave out the PDB only when asked, and then says so in the safety check', () => {
    expect(safetyProblems(rendered.noPdb, { namespace: 'eviction-guard', failurePolicy: 'Ignore' })).toEqual(["one PDB selecting the webhook's pods, found 0"]);
  });

  it('holds only schema-valid objects with every value set', () => {
    for (const [name, objects] of Object.entries(rendered)) expect([name, objects.flatMap(schemaProblems)]).toEqual([name, []]);
  });
});

describe('the Helm chart with monitoring', () => {
  const rulesFile = () => parseDocuments(readFileSync(path.join(CHART, 'files/prometheus-rules.yaml'), 'utf8'))[0];
  const dashboardFile = () => readFileSync(path.join(CHART, 'files/grafana-dashboard.json'), 'utf8');

  it('ships the dashboard but no PrometheusRule or ServiceMonitor by default (those need the Prometheus Operator\'s CRDs)', () => {
    expect(find(rendered.default, 'PrometheusRule')).toEqual([]);
    expect(find(rendered.default, 'ServiceMonitor')).toEqual([]);
    expect(ids(find(rendered.default, 'ConfigMap'))).toEqual(['ConfigMap/eviction-guard-dashboard']);
  });

  it('wraps files/prometheus-rules.yaml, untouched by Helm, in a PrometheusRule with the labels asked for', () => {
    const rule = one(rendered.custom, 'PrometheusRule');
    expect(rule.metadata).toMatchObject({ name: 'guard-eviction-guard', namespace: 'ops', labels: { release: 'prometheus', 'app.kubernetes.io/instance': 'guard' } });
    expect(rule.spec).toEqual(rulesFile());
    // Prometheus' templates reach Prometheus as they are.
    expect(JSON.stringify(rule.spec)).toContain('{{ $labels.name }}');
  });

  it('ships files/grafana-dashboard.json as a ConfigMap for Grafana\'s sidecar, in the namespace asked for', () => {
    const [dashboard] = find(rendered.monitoring, 'ConfigMap');
    expect(dashboard.metadata).toMatchObject({
      name: 'eviction-guard-dashboard',
      namespace: 'grafana',
      labels: { grafana_dashboard: '1' },
      annotations: { grafana_folder: 'Kubernetes' },
    });
    expect(Object.keys(dashboard.data)).toEqual(['eviction-guard.json']);
    expect(JSON.parse(dashboard.data['eviction-guard.json'])).toEqual(JSON.parse(dashboardFile()));
    expect(one(rendered.default, 'ConfigMap').metadata.namespace).toBe('eviction-guard');
    expect(find(rendered.custom, 'ConfigMap')).toEqual([]);
  });

  it('keeps every safety property with monitoring on', () => {
    expect(rendered.monitoring.flatMap(schemaProblems)).toEqual([]);
    expect(safetyProblems(rendered.monitoring, { namespace: 'eviction-guard', failurePolicy: 'Ignore', elsewhere: { 'ConfigMap/eviction-guard-dashboard': 'grafana' } })).toEqual([]);
  });
});

describe('helm lint --strict', () => {
  it.each<[string, Release]>([
    ['default values', RELEASES.default],
    ['non-default values', RELEASES.custom],
    ['monitoring on', RELEASES.monitoring],
  ])('passes with %s', async (_name, release) => {
    const result = await helmLint(release);
    expect([result.status, result.stderr]).toEqual([0, '']);
    expect(result.stdout).toContain('1 chart(s) linted, 0 chart(s) failed');
  });
});

describe('the Helm chart and manifests/ agree', () => {
  const chart = () => rendered.default;
  const manifests = kustomize(MANIFESTS);
  const pick = (objects: K8sObject[], kind: string) => one(objects, kind);

  it('grants the same permissions', () => {
    const rendered = chart();
    for (const role of ['eviction-guard', 'eviction-guard-reader']) expect(permissions(one(rendered, 'ClusterRole', role))).toEqual(permissions(one(manifests, 'ClusterRole', role)));
    expect(one(rendered, 'ClusterRole', 'eviction-guard-reader').rules).toEqual(one(manifests, 'ClusterRole', 'eviction-guard-reader').rules);
    expect(permissions(pick(rendered, 'Role'))).toEqual(permissions(pick(manifests, 'Role')));
  });

  it('registers the same webhook entries (apart from the caBundle)', () => {
    const webhooks = (objects: K8sObject[]) =>
      structuredClone(pick(objects, 'ValidatingWebhookConfiguration').webhooks).map((entry: K8sObject) => {
        delete entry.clientConfig.caBundle;
        return entry;
      });
    expect(webhooks(chart())).toEqual(webhooks(manifests));
  });

  it('runs the same container the same way', () => {
    const pod = (objects: K8sObject[]) => pick(objects, 'Deployment').spec.template.spec;
    expect(pod(chart()).containers).toEqual(pod(manifests).containers);
    // The bench runs the webhook with this environment (bench/processes.ts): the heap ceiling and two malloc arenas.
    expect(pod(manifests).containers[0].env).toEqual(
      expect.arrayContaining([
        { name: 'NODE_OPTIONS', value: '--max-old-space-size=384 --max-semi-space-size=8' },
        { name: 'MALLOC_ARENA_MAX', value: '2' },
      ]),
    );
    expect(pod(chart()).securityContext).toEqual(pod(manifests).securityContext);
    expect(pod(chart()).volumes).toEqual(pod(manifests).volumes);
    expect(pod(chart()).terminationGracePeriodSeconds).toEqual(pod(manifests).terminationGracePeriodSeconds);
    const spread = (objects: K8sObject[]) => pod(objects).topologySpreadConstraints.map((entry: K8sObject) => [entry.topologyKey, entry.whenUnsatisfiable, entry.maxSkew]);
    expect(spread(chart())).toEqual(spread(manifests));
    const deployment = (objects: K8sObject[]) => {
      const { replicas, strategy } = pick(objects, 'Deployment').spec;
      return { replicas, strategy };
    };
    expect(deployment(chart())).toEqual(deployment(manifests));
  });

  it('has the same budget and Service ports', () => {
    const budget = (objects: K8sObject[]) => ({ ...pick(objects, 'PodDisruptionBudget').spec, selector: undefined });
    expect(budget(chart())).toEqual(budget(manifests));
    const service = (objects: K8sObject[]) => ({ ...pick(objects, 'Service').spec, selector: undefined });
    expect(service(chart())).toEqual(service(manifests));
  });

  it('ships the same CRD', () => {
    expect(pick(chart(), 'CustomResourceDefinition')).toEqual(pick(manifests, 'CustomResourceDefinition'));
  });

  it('monitor the same way: the chart with monitoring on and overlays/monitoring', () => {
    const monitored = kustomize(path.join(MANIFESTS, 'overlays/monitoring'));
    const chartMonitored = rendered.monitoring;
    expect(pick(chartMonitored, 'PrometheusRule').spec).toEqual(pick(monitored, 'PrometheusRule').spec);
    expect(pick(chartMonitored, 'ConfigMap').data).toEqual(pick(monitored, 'ConfigMap').data);
    expect(pick(chartMonitored, 'ConfigMap').metadata.labels.grafana_dashboard).toBe(pick(monitored, 'ConfigMap').metadata.labels.grafana_dashboard);
    expect(pick(chartMonitored, 'ServiceMonitor').spec.endpoints).toEqual(pick(monitored, 'ServiceMonitor').spec.endpoints);
    const ports = (objects: K8sObject[]) => pick(objects, 'Service').spec.ports;
    expect(ports(chartMonitored)).toEqual(ports(monitored));
  });
});
