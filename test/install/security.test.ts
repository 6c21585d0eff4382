// The security parts of both installs, rendered by the real helm and kubectl: the NetworkPolicy
// (toggle, values, kustomize component) checked against the Service and Deployment it guards,
// mTLS wiring (--client-ca from a mounted ConfigMap), and RBAC for delegated access.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseServeOptions, type ServeOptions } from '../../src/cli/serve';
import { OPERATOR_ROUTES } from '../../src/server/app';
import { toolPath } from '../helpers/tools';
import { CHART, find, kustomize, MANIFESTS, one, parseDocuments, safetyProblems, schemaProblems, selects, type K8sObject } from './k8s';

const HELM = toolPath('helm');
let scratch: string;
beforeAll(() => {
  scratch = mkdtempSync(path.join(os.tmpdir(), 'install-security-'));
});
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

let renders = 0;
/** `helm template` with these values; throws with helm's message when it fails. */
function helmTemplate(values: Record<string, unknown> = {}, release = 'eviction-guard', namespace = 'eviction-guard'): K8sObject[] {
  const valuesFile = path.join(scratch, `values-${++renders}.json`);
  writeFileSync(valuesFile, JSON.stringify(values));
  const result = spawnSync(HELM, ['template', release, CHART, '--namespace', namespace, '-f', valuesFile], { encoding: 'utf8' });
  if (result.status !== 0) throw new Error(result.stderr);
  return parseDocuments(result.stdout);
}

/** A user's kustomization: the base plus components, as docs/security.md shows it. */
function kustomizeWith(components: string[]): K8sObject[] {
  const dir = mkdtempSync(path.join(scratch, 'kustomization-'));
  const relative = (target: string) => path.relative(dir, path.join(MANIFESTS, target));
  writeFileSync(
    path.join(dir, 'kustomization.yaml'),
    JSON.stringify({ apiVersion: 'kustomize.config.k8s.io/v1beta1', kind: 'Kustomization', resources: [relative('base')], components: components.map(relative) }),
  );
  return kustomize(dir);
}

const container = (objects: K8sObject[]) => one(objects, 'Deployment').spec.template.spec.containers[0];
function serveFlags(objects: K8sObject[]): ServeOptions {
  const options = parseServeOptions(container(objects).args.slice(1));
  if (options === 'help') throw new Error('the container asks serve for --help');
  return options;
}

/**
 * What a NetworkPolicy must hold to guard the webhook and nothing else: it selects the webhook's
 * pods; the first rule opens the container port the Service sends admission calls to, the second
 * the port `serve --metrics-port` listens on; no other rule, no egress isolation.
 */
function networkPolicyProblems(objects: K8sObject[]): string[] {
  const problems: string[] = [];
  const check = (condition: unknown, problem: string) => {
    if (!condition) problems.push(problem);
  };
  const policies = find(objects, 'NetworkPolicy');
  if (policies.length !== 1) return [`one NetworkPolicy, found ${policies.length}`];
  const [policy] = policies;
  const deployment = one(objects, 'Deployment');
  const podLabels: Record<string, string> = deployment.spec.template.metadata.labels;
  check(policy.metadata.namespace === deployment.metadata.namespace, 'the NetworkPolicy is in the Deployment\'s namespace');
  check(selects(policy.spec.podSelector, podLabels), 'the NetworkPolicy selects the webhook pods');
  check(JSON.stringify(policy.spec.policyTypes) === '["Ingress"]', `policyTypes [Ingress] only (egress to the API server stays open), got ${JSON.stringify(policy.spec.policyTypes)}`);

  const ports: K8sObject[] = container(objects).ports;
  /** The container port a NetworkPolicy or Service port refers to, by name or number. */
  const containerPort = (reference: string | number | undefined) => ports.find((port) => port.name === reference || port.containerPort === reference);
  const rules: K8sObject[] = policy.spec.ingress ?? [];
  check(rules.length === 2, `two ingress rules (webhook, metrics), got ${rules.length}`);
  const [webhookRule, metricsRule] = rules;
  const service = one(objects, 'Service');
  const servicePort = service.spec.ports.find((port: K8sObject) => port.name === 'https');
  check(selects({ matchLabels: service.spec.selector }, podLabels), 'the Service selects the pods the NetworkPolicy guards');
  const admissionPort = containerPort(servicePort?.targetPort);
  check(
    webhookRule?.ports?.length === 1 && containerPort(webhookRule.ports[0].port) === admissionPort && admissionPort !== undefined && webhookRule.ports[0].protocol === 'TCP',
    `rule 0 opens the port the Service targets (${servicePort?.targetPort}), got ${JSON.stringify(webhookRule?.ports)}`,
  );
  const metricsPort = containerPort(metricsRule?.ports?.[0]?.port);
  check(
    metricsRule?.ports?.length === 1 && metricsPort !== undefined && metricsPort.containerPort === serveFlags(objects).metricsPort,
    `rule 1 opens the port serve --metrics-port listens on, got ${JSON.stringify(metricsRule?.ports)}`,
  );
  return problems;
}

const monitoringNamespace = [{ namespaceSelector: { matchLabels: { 'kubernetes.io/metadata.name': 'monitoring' } } }];
const rules = (objects: K8sObject[]) => one(objects, 'NetworkPolicy').spec.ingress as K8sObject[];

describe('the NetworkPolicy', () => {
  it('is on in the chart by default: the webhook port open to any source, the metrics port to the monitoring namespace', () => {
    const objects = helmTemplate();
    expect(networkPolicyProblems(objects)).toEqual([]);
    expect(objects.flatMap(schemaProblems)).toEqual([]);
    expect(rules(objects)[0].from).toBeUndefined();
    expect(rules(objects)[1].from).toEqual(monitoringNamespace);
  });

  it('admits the webhook port and metrics port sources given in values, whatever the ports and release', () => {
    const apiServers = [{ ipBlock: { cidr: '10.0.0.0/28' } }, { namespaceSelector: { matchLabels: { 'kubernetes.io/metadata.name': 'kube-system' } }, podSelector: { matchLabels: { component: 'kube-apiserver' } } }];
    const scrapers = [{ namespaceSelector: { matchLabels: { 'kubernetes.io/metadata.name': 'observability' } } }];
    const objects = helmTemplate({ ports: { https: 9443, metrics: 9191 }, networkPolicy: { webhook: { from: apiServers }, metrics: { from: scrapers } } }, 'guard', 'ops');
    expect(networkPolicyProblems(objects)).toEqual([]);
    expect(objects.flatMap(schemaProblems)).toEqual([]);
    expect(rules(objects).map((rule) => rule.from)).toEqual([apiServers, scrapers]);
    expect(one(objects, 'NetworkPolicy').metadata).toMatchObject({ name: 'guard-eviction-guard', namespace: 'ops' });
  });

  it('is left out with networkPolicy.enabled false', () => {
    expect(find(helmTemplate({ networkPolicy: { enabled: false } }), 'NetworkPolicy')).toEqual([]);
  });

  it('comes with manifests/ as a kustomize component that holds the same rules as the chart', () => {
    const objects = kustomizeWith(['components/network-policy']);
    expect(networkPolicyProblems(objects)).toEqual([]);
    expect(objects.flatMap(schemaProblems)).toEqual([]);
    expect(safetyProblems(objects, { namespace: 'eviction-guard', failurePolicy: 'Ignore' })).toEqual([]);
    // The pod selectors differ as the installs' labels do (the chart adds app.kubernetes.io/instance).
    const rulesOf = (install: K8sObject[]) => ({ ...one(install, 'NetworkPolicy').spec, podSelector: undefined });
    expect(rulesOf(objects)).toEqual(rulesOf(helmTemplate()));
    expect(find(kustomize(MANIFESTS), 'NetworkPolicy')).toEqual([]);
  });

  // The check itself: each breakage must be reported.
  it.each<[string, (objects: K8sObject[]) => void, string]>([
    ['a selector of other pods', (objects) => (one(objects, 'NetworkPolicy').spec.podSelector.matchLabels = { app: 'other' }), 'selects the webhook pods'],
    ['a port name the container does not have', (objects) => (rules(objects)[0].ports[0].port = 'webhook'), 'rule 0 opens the port the Service targets'],
    ['the metrics rule on another port', (objects) => (rules(objects)[1].ports[0].port = 8443), 'rule 1 opens the port serve --metrics-port'],
    ['egress isolation', (objects) => one(objects, 'NetworkPolicy').spec.policyTypes.push('Egress'), 'policyTypes [Ingress] only'],
    ['a third rule', (objects) => rules(objects).push({}), 'two ingress rules'],
  ])('reports %s', (_name, breakIt, problem) => {
    const objects = helmTemplate();
    breakIt(objects);
    expect(networkPolicyProblems(objects).join('\n')).toContain(problem);
  });
});

describe('mTLS wiring (--client-ca)', () => {
  const CA_PEM = '-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n';

  /** The client CA file --client-ca names is in a mounted ConfigMap; its name. */
  function mountedConfigMap(objects: K8sObject[]): string | undefined {
    const flags = serveFlags(objects);
    const pod = one(objects, 'Deployment').spec.template.spec;
    const mount = container(objects).volumeMounts.find((entry: K8sObject) => flags.clientCa !== undefined && path.dirname(flags.clientCa) === entry.mountPath);
    return pod.volumes.find((volume: K8sObject) => volume.name === mount?.name)?.configMap?.name;
  }

  /** ConfigMaps holding a ca.crt (the chart also ships a Grafana dashboard as a ConfigMap). */
  const clientCaConfigMaps = (objects: K8sObject[]) => find(objects, 'ConfigMap').filter((configMap) => configMap.data?.['ca.crt'] !== undefined);

  it('is off in the chart by default', () => {
    const objects = helmTemplate();
    expect(serveFlags(objects).clientCa).toBeUndefined();
    expect(clientCaConfigMaps(objects)).toEqual([]);
  });

  it('passes --client-ca from the ConfigMap the chart makes of clientAuth.caPem, and a --client-name per name', () => {
    const objects = helmTemplate({ clientAuth: { enabled: true, caPem: CA_PEM, names: ['kube-apiserver', 'apiserver-webhook-client'] } });
    expect(serveFlags(objects)).toMatchObject({ clientCa: '/etc/eviction-guard/client-ca/ca.crt', clientNames: ['kube-apiserver', 'apiserver-webhook-client'] });
    expect(mountedConfigMap(objects)).toBe('eviction-guard-client-ca');
    expect(one(objects, 'ConfigMap', 'eviction-guard-client-ca').data).toEqual({ 'ca.crt': CA_PEM });
    expect(objects.flatMap(schemaProblems)).toEqual([]);
    expect(safetyProblems(objects, { namespace: 'eviction-guard', failurePolicy: 'Ignore' })).toEqual([]);
  });

  it('mounts an existing ConfigMap named in clientAuth.caConfigMap, making none', () => {
    const objects = helmTemplate({ clientAuth: { enabled: true, caConfigMap: 'apiserver-client-ca' } });
    expect(mountedConfigMap(objects)).toBe('apiserver-client-ca');
    expect(clientCaConfigMaps(objects)).toEqual([]);
  });

  it.each<[string, Record<string, unknown>, string]>([
    ['no CA', { enabled: true }, 'clientAuth.enabled needs the CA that signs kube-apiserver\'s client certificate'],
    ['two CAs', { enabled: true, caPem: CA_PEM, caConfigMap: 'x' }, 'clientAuth.caConfigMap and clientAuth.caPem are alternatives'],
  ])('refuses clientAuth with %s', (_case, clientAuth, message) => {
    expect(() => helmTemplate({ clientAuth })).toThrow(message);
  });

  it('comes with manifests/ as a kustomize component mounting the ConfigMap eviction-guard-client-ca', () => {
    const objects = kustomizeWith(['components/client-auth']);
    expect(serveFlags(objects)).toMatchObject({ clientCa: '/etc/eviction-guard/client-ca/ca.crt', clientNames: [] });
    expect(mountedConfigMap(objects)).toBe('eviction-guard-client-ca');
    expect(objects.flatMap(schemaProblems)).toEqual([]);
    expect(safetyProblems(objects, { namespace: 'eviction-guard', failurePolicy: 'Ignore' })).toEqual([]);
  });
});

describe('RBAC for delegated access', () => {
  const readerRule = [{ nonResourceURLs: [...OPERATOR_ROUTES], verbs: ['get'] }];

  it.each<[string, () => K8sObject[], string]>([
    ['the chart', () => helmTemplate(), 'eviction-guard-reader'],
    ['manifests/', () => kustomize(MANIFESTS), 'eviction-guard-reader'],
  ])('%s ships a reader ClusterRole with get on exactly the operator routes, bound to nobody', (_install, render, name) => {
    const objects = render();
    expect(one(objects, 'ClusterRole', name).rules).toEqual(readerRule);
    expect(find(objects, 'ClusterRoleBinding').map((binding) => binding.roleRef.name)).not.toContain(name);
  });

  it('leaves the reader role out of the chart with rbac.createReaderRole false', () => {
    expect(find(helmTemplate({ rbac: { createReaderRole: false } }), 'ClusterRole').map((role) => role.metadata.name)).toEqual(['eviction-guard']);
  });
});
