// manifests/: the kustomize base and its overlays render, every object is valid for its schema
// (kubernetes-models 4.5.1, the upstream OpenAPI), and the install keeps its safety properties.
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { parse as parseYaml } from 'yaml';
import { planCaBundlePatches } from '../../src/certs/manifests';
import { parseServeOptions } from '../../src/cli/serve';
import { loadPolicyFiles } from '../../src/policy/load';
import { parsePolicy } from '../../src/policy/schema';
import { applyDefaults, celRules, compileRule, structuralProblems, validateAgainst, type Schema } from './crd-schema';
import { certManagerProblems, find, ids, kustomize, MANIFESTS, one, REPO, safetyProblems, schemaProblems, tlsSecretName, type K8sObject } from './k8s';

const NAMESPACE = 'eviction-guard';

const BASE_OBJECTS = [
  'ClusterRole/eviction-guard',
  'ClusterRole/eviction-guard-reader',
  'ClusterRoleBinding/eviction-guard',
  'CustomResourceDefinition/evictionpolicies.evictionguard.io',
  'Deployment/eviction-guard',
  'Namespace/eviction-guard',
  'PodDisruptionBudget/eviction-guard',
  'PriorityClass/eviction-guard',
  'Role/eviction-guard',
  'RoleBinding/eviction-guard',
  'Service/eviction-guard',
  'ServiceAccount/eviction-guard',
  'ValidatingWebhookConfiguration/eviction-guard',
];

describe('manifests/ (kustomize)', () => {
  const flavours = {
    base: kustomize(MANIFESTS),
    'overlays/cert-manager': kustomize(path.join(MANIFESTS, 'overlays/cert-manager')),
    'overlays/fail-closed': kustomize(path.join(MANIFESTS, 'overlays/fail-closed')),
    'overlays/monitoring': kustomize(path.join(MANIFESTS, 'overlays/monitoring')),
  };
  const base = flavours.base;

  it('renders the base install', () => {
    expect(ids(base)).toEqual(BASE_OBJECTS);
  });

  it('renders the same from manifests/ and manifests/base/', () => {
    expect(kustomize(path.join(MANIFESTS, 'base'))).toEqual(base);
  });

  it('adds the cert-manager chain in overlays/cert-manager and nothing else', () => {
    expect(ids(flavours['overlays/cert-manager'])).toEqual(
      [...BASE_OBJECTS, 'Certificate/eviction-guard-ca', 'Certificate/eviction-guard-serving', 'Issuer/eviction-guard-ca', 'Issuer/eviction-guard-selfsigned'].sort(),
    );
  });

  it('changes only the eviction entry failurePolicy in overlays/fail-closed; the PDB guard stays Ignore', () => {
    const failClosed = flavours['overlays/fail-closed'];
    expect(ids(failClosed)).toEqual(BASE_OBJECTS);
    const webhook = one(failClosed, 'ValidatingWebhookConfiguration');
    expect(webhook.webhooks.map((entry: K8sObject) => [entry.name, entry.failurePolicy])).toEqual([
      ['evictions.evictionguard.io', 'Fail'],
      ['pdbs.evictionguard.io', 'Ignore'],
    ]);
    const restored = structuredClone(failClosed);
    one(restored, 'ValidatingWebhookConfiguration').webhooks[0].failurePolicy = 'Ignore';
    expect(restored).toEqual(base);
  });

  it('adds the ServiceMonitor, PrometheusRule, dashboard ConfigMap and the Service\'s metrics port in overlays/monitoring, and nothing else', () => {
    const monitored = flavours['overlays/monitoring'];
    expect(ids(monitored)).toEqual([...BASE_OBJECTS, 'ConfigMap/eviction-guard-dashboard', 'PrometheusRule/eviction-guard', 'ServiceMonitor/eviction-guard'].sort());
    const service = one(monitored, 'Service');
    expect(service.spec.ports.map((port: K8sObject) => [port.name, port.port, port.targetPort])).toEqual([
      ['https', 443, 'https'],
      ['metrics', 9090, 'metrics'],
    ]);
    const monitor = one(monitored, 'ServiceMonitor');
    expect(monitor.spec.selector.matchLabels).toEqual(service.metadata.labels && { 'app.kubernetes.io/name': 'eviction-guard', 'app.kubernetes.io/component': 'webhook' });
    expect(Object.entries(monitor.spec.selector.matchLabels).every(([key, value]) => service.metadata.labels[key] === value)).toBe(true);
    expect(monitor.spec.endpoints).toEqual([{ port: 'metrics', path: '/metrics', interval: '30s' }]);
    expect(one(monitored, 'ConfigMap').metadata.labels.grafana_dashboard).toBe('1');
    const container = one(monitored, 'Deployment').spec.template.spec.containers[0];
    expect(container.ports).toContainEqual({ name: 'metrics', containerPort: 9090, protocol: 'TCP' });
    expect(container.args).toContain('--metrics-port=9090');
    const withoutMonitoring = structuredClone(monitored).filter((object) => !['ConfigMap', 'PrometheusRule', 'ServiceMonitor'].includes(object.kind));
    one(withoutMonitoring, 'Service').spec.ports.pop();
    expect(withoutMonitoring).toEqual(base);
  });

  describe.each(Object.keys(flavours) as (keyof typeof flavours)[])('%s', (flavour) => {
    const objects = flavours[flavour];

    it('holds only objects valid for their schemas', () => {
      expect(objects.flatMap(schemaProblems)).toEqual([]);
    });

    it('keeps every safety property', () => {
      expect(safetyProblems(objects, { namespace: NAMESPACE, failurePolicy: flavour === 'overlays/fail-closed' ? 'Fail' : 'Ignore', replicas: 2 })).toEqual([]);
    });

    it('gives the server arguments `serve` accepts', () => {
      const [command, ...flags] = one(objects, 'Deployment').spec.template.spec.containers[0].args;
      expect(command).toBe('serve');
      expect(parseServeOptions(flags)).toMatchObject({
        port: 8443,
        tlsCert: '/etc/eviction-guard/tls/tls.crt',
        tlsKey: '/etc/eviction-guard/tls/tls.key',
        logLevel: 'info',
      });
    });
  });

  // The safety check itself: each of these breakages of the base must be reported.
  it.each<[string, (objects: K8sObject[]) => void, string]>([
    ['a wildcard verb', (objects) => one(objects, 'ClusterRole', 'eviction-guard').rules[0].verbs.push('*'), 'no wildcard in ClusterRole verbs'],
    ['read access to Secrets', (objects) => one(objects, 'ClusterRole', 'eviction-guard').rules.push({ apiGroups: [''], resources: ['secrets'], verbs: ['get'] }), 'RBAC grants exactly'],
    ['a missing permission', (objects) => one(objects, 'ClusterRole', 'eviction-guard').rules.pop(), 'RBAC grants exactly'],
    ['Leases cluster-wide', (objects) => one(objects, 'ClusterRole', 'eviction-guard').rules.push({ apiGroups: ['coordination.k8s.io'], resources: ['leases'], verbs: ['get'] }), 'RBAC grants exactly'],
    ['Secrets in its namespace', (objects) => one(objects, 'Role').rules.push({ apiGroups: [''], resources: ['secrets'], verbs: ['get'] }), 'the Role grants exactly'],
    ['a Role without update', (objects) => one(objects, 'Role').rules[0].verbs.splice(3, 1), 'the Role grants exactly'],
    ['no Role', (objects) => objects.splice(objects.indexOf(one(objects, 'Role')), 1), 'one Role'],
    ['a RoleBinding to another account', (objects) => (one(objects, 'RoleBinding').subjects[0].name = 'default'), 'one RoleBinding grants the Role'],
    ['no POD_NAMESPACE', (objects) => one(objects, 'Deployment').spec.template.spec.containers[0].env.pop(), 'POD_NAMESPACE'],
    ['its own namespace not excluded', (objects) => one(objects, 'ValidatingWebhookConfiguration').webhooks[0].namespaceSelector.matchExpressions.shift(), 'excludes the webhook\'s own namespace'],
    ['sideEffects None', (objects) => (one(objects, 'ValidatingWebhookConfiguration').webhooks[0].sideEffects = 'Some'), 'sideEffects NoneOnDryRun'],
    ['a broader rule', (objects) => one(objects, 'ValidatingWebhookConfiguration').webhooks[0].rules[0].resources.push('pods'), 'rules: CREATE pods/eviction only'],
    ['a root user', (objects) => (one(objects, 'Deployment').spec.template.spec.containers[0].securityContext.runAsUser = 0), 'a numeric non-root runAsUser'],
    ['a writable root filesystem', (objects) => delete one(objects, 'Deployment').spec.template.spec.containers[0].securityContext.readOnlyRootFilesystem, 'readOnlyRootFilesystem'],
    ['an added capability', (objects) => (one(objects, 'Deployment').spec.template.spec.containers[0].securityContext.capabilities.add = ['NET_ADMIN']), 'capabilities'],
    ['a PDB selecting other pods', (objects) => (one(objects, 'PodDisruptionBudget').spec.selector.matchLabels = { app: 'other' }), 'one PDB selecting the webhook\'s pods'],
    ['a Service port to nowhere', (objects) => (one(objects, 'Service').spec.ports[0].targetPort = 9443), 'Service targetPort'],
    ['liveness on /readyz', (objects) => (one(objects, 'Deployment').spec.template.spec.containers[0].livenessProbe.httpGet.path = '/readyz'), 'livenessProbe'],
    ['one replica', (objects) => (one(objects, 'Deployment').spec.replicas = 1), 'at least 2 replicas'],
    ['a failing PDB guard', (objects) => (one(objects, 'ValidatingWebhookConfiguration').webhooks[1].failurePolicy = 'Fail'), 'PDB guard: failurePolicy Ignore'],
    ['a PDB guard on status updates', (objects) => one(objects, 'ValidatingWebhookConfiguration').webhooks[1].rules[0].resources.push('poddisruptionbudgets/status'), 'PDB guard rules'],
    ['no PDB guard entry', (objects) => one(objects, 'ValidatingWebhookConfiguration').webhooks.pop(), 'webhooks evictions.evictionguard.io, pdbs.evictionguard.io'],
  ])('reports %s', (_name, breakIt, problem) => {
    const broken = structuredClone(base);
    breakIt(broken);
    expect(safetyProblems(broken, { namespace: NAMESPACE, failurePolicy: 'Ignore' }).join('\n')).toContain(problem);
  });

  it('reports fields a kind does not have, which validate() lets through', () => {
    const broken = structuredClone(one(base, 'Deployment'));
    broken.spec.template.spec.containers[0].securityContext.readOnlyRootFileSystem = true;
    broken.spec.template.spec.topologySpreadConstraint = [];
    expect(schemaProblems(broken)).toEqual([
      'Deployment/eviction-guard: .spec.template.spec.containers[0].securityContext.readOnlyRootFileSystem: unknown field',
      'Deployment/eviction-guard: .spec.template.spec.topologySpreadConstraint: unknown field',
    ]);
  });

  it('mounts the Secret docs/install.md tells users to create, eviction-guard-tls', () => {
    expect(tlsSecretName(base)).toBe('eviction-guard-tls');
  });

  it('excludes the webhook namespace and opted-out namespaces from the webhook', () => {
    const webhook = one(base, 'ValidatingWebhookConfiguration').webhooks[0];
    expect(webhook.namespaceSelector).toEqual({
      matchExpressions: [
        { key: 'kubernetes.io/metadata.name', operator: 'NotIn', values: [NAMESPACE] },
        { key: 'evictionguard.io/ignore', operator: 'NotIn', values: ['true'] },
      ],
    });
    // Within the namespace itself, the restricted Pod Security Standard applies.
    expect(one(base, 'Namespace').metadata.labels['pod-security.kubernetes.io/enforce']).toBe('restricted');
  });

  it('has the PDB guard entry: CREATE/UPDATE policy/v1 PDBs, no side effects, always Ignore, same namespaces and Service as the eviction entry', () => {
    const [evictions, pdbs] = one(base, 'ValidatingWebhookConfiguration').webhooks;
    expect(pdbs).toEqual({
      name: 'pdbs.evictionguard.io',
      admissionReviewVersions: ['v1', 'v1beta1'],
      sideEffects: 'None',
      timeoutSeconds: 5,
      failurePolicy: 'Ignore',
      matchPolicy: 'Equivalent',
      rules: [{ apiGroups: ['policy'], apiVersions: ['v1'], resources: ['poddisruptionbudgets'], operations: ['CREATE', 'UPDATE'], scope: 'Namespaced' }],
      namespaceSelector: evictions.namespaceSelector,
      clientConfig: { service: { name: 'eviction-guard', namespace: NAMESPACE, path: '/validate', port: 443 }, caBundle: '' },
    });
    expect(pdbs.clientConfig).toEqual(evictions.clientConfig);
  });

  it('ships a PriorityClass below the system classes that never preempts', () => {
    const priorityClass = one(base, 'PriorityClass');
    expect(one(base, 'Deployment').spec.template.spec.priorityClassName).toBe(priorityClass.metadata.name);
    expect(priorityClass.value).toBeLessThan(1_000_000_000);
    expect(priorityClass.preemptionPolicy).toBe('Never');
    expect(priorityClass.globalDefault).toBe(false);
  });

  it('has an empty caBundle placeholder in the base, and none under cert-manager (cainjector owns it)', () => {
    expect(one(base, 'ValidatingWebhookConfiguration').webhooks.map((entry: K8sObject) => entry.clientConfig.caBundle)).toEqual(['', '']);
    expect(certManagerProblems(flavours['overlays/cert-manager'], NAMESPACE)).toEqual([]);
  });

  it('is what `eviction-guard certs --patch-manifests` patches: the caBundles of base/webhook.yaml (both entries), and only those', () => {
    const bundle = Buffer.from('-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n').toString('base64');
    const plans = planCaBundlePatches(MANIFESTS, bundle);
    expect(plans.map((plan) => [path.relative(REPO, plan.file), plan.webhooks, plan.changed])).toEqual([['manifests/base/webhook.yaml', 2, true]]);
    const original = readFileSync(path.join(MANIFESTS, 'base/webhook.yaml'), 'utf8').split('\n');
    const patched = plans[0].text.split('\n');
    const changedLines = patched.filter((line, index) => line !== original[index]);
    expect(changedLines).toEqual([`      caBundle: "${bundle}"`, `      caBundle: "${bundle}"`]);
  });
});

describe('the EvictionPolicy CRD (manifests/base/crd)', () => {
  const crdFile = path.join(MANIFESTS, 'base/crd/evictionpolicies.yaml');
  const crd = parseYaml(readFileSync(crdFile, 'utf8')) as K8sObject;
  const [version] = crd.spec.versions;
  const schema: Schema = version.schema.openAPIV3Schema;

  it('is valid for the CustomResourceDefinition schema', () => {
    expect(schemaProblems(crd)).toEqual([]);
  });

  it('defines evictionpolicies.evictionguard.io, cluster-scoped, v1alpha1 served and stored', () => {
    expect(crd.metadata.name).toBe('evictionpolicies.evictionguard.io');
    expect(crd.spec).toMatchObject({ group: 'evictionguard.io', scope: 'Cluster', names: { kind: 'EvictionPolicy', plural: 'evictionpolicies' } });
    expect(crd.spec.versions.map((entry: K8sObject) => [entry.name, entry.served, entry.storage])).toEqual([['v1alpha1', true, true]]);
  });

  it('shows Action and Age columns', () => {
    const columns = version.additionalPrinterColumns.map((column: K8sObject) => [column.name, column.jsonPath]);
    expect(columns).toEqual(expect.arrayContaining([['Action', '.spec.action'], ['Age', '.metadata.creationTimestamp']]));
  });

  it('has a structural schema, label selectors spelled out, no preserve-unknown-fields', () => {
    expect(structuralProblems(schema)).toEqual([]);
    expect(readFileSync(crdFile, 'utf8')).not.toContain('x-kubernetes-preserve-unknown-fields');
    const match = schema.properties.spec.properties.match.properties;
    for (const selector of [match.namespaceSelector, match.podSelector]) {
      expect(Object.keys(selector.properties).sort()).toEqual(['matchExpressions', 'matchLabels']);
      expect(selector.properties.matchExpressions.items.properties.operator.enum).toEqual(['In', 'NotIn', 'Exists', 'DoesNotExist']);
    }
  });

  it('has CEL rules that compile, over lists with maxItems (the API server bounds their cost)', () => {
    const rules = celRules(schema);
    expect(rules.length).toBeGreaterThan(0);
    for (const { rule } of rules) expect(() => compileRule(rule)).not.toThrow();
    expect(schema.properties.spec.properties.rules.maxItems).toBe(6);
  });

  it('is the same file as the Helm chart ships in crds/ (copy it there after a change)', () => {
    expect(readFileSync(path.join(REPO, 'charts/eviction-guard/crds/evictionpolicies.yaml'), 'utf8')).toBe(readFileSync(crdFile, 'utf8'));
  });

  /** What `kubectl apply` of this policy spec would answer, and what the server's zod schema says. */
  function verdicts(spec: unknown): { apiServer: string[]; server: string | undefined } {
    const object = { apiVersion: 'evictionguard.io/v1alpha1', kind: 'EvictionPolicy', metadata: { name: 'p' }, spec };
    const result = parsePolicy(applyDefaults(schema, object), 'test');
    return { apiServer: validateAgainst(schema, applyDefaults(schema, object)), server: 'error' in result ? result.error.message : undefined };
  }

  it('accepts every policy in examples/policies, as the server does', () => {
    const loaded = loadPolicyFiles([path.join(REPO, 'examples/policies')]);
    expect(loaded.documents.length).toBeGreaterThanOrEqual(readdirSync(path.join(REPO, 'examples/policies')).filter((name) => name.endsWith('.yaml')).length);
    for (const document of loaded.documents) {
      expect([document.origin, validateAgainst(schema, applyDefaults(schema, document.raw))]).toEqual([document.origin, []]);
      expect([document.origin, 'error' in parsePolicy(document.raw, document.origin)]).toEqual([document.origin, false]);
    }
  });

  it.each<[string, unknown]>([
    ['a protect rule for some namespaces', { match: { namespaces: ['prod-*', 'payments'] }, rules: [{ protect: {} }] }],
    ['a window with a time zone', { action: 'Warn', rules: [{ window: { allow: ['Mon-Fri 09:00-17:00'], timeZone: 'Europe/Berlin' } }] }],
    ['maxDisruptions as a count', { rules: [{ maxDisruptions: { per: 'owner', count: 1 } }] }],
    ['maxDisruptions as a percentage', { rules: [{ maxDisruptions: { per: 'node', count: '10%' } }] }],
    ['minReplicas and requirePDB', { failurePolicy: 'Ignore', rules: [{ minReplicas: 2 }, { requirePDB: true }] }],
    ['a CEL rule with a message', { rules: [{ cel: { expression: 'pod.metadata.name != ""', message: 'no' } }], message: 'ask #platform' }],
    [
      'subjects and selectors',
      {
        match: {
          namespaceSelector: { matchLabels: { tier: 'prod' } },
          podSelector: { matchExpressions: [{ key: 'app', operator: 'In', values: ['db'] }] },
          subjects: [{ kind: 'ServiceAccount', name: 'cluster-autoscaler', namespace: 'kube-system' }],
          excludeSubjects: [{ kind: 'Group', name: 'system:masters' }],
        },
        rules: [{ protect: {} }],
      },
    ],
    ['annotationProtection alone', { annotationProtection: { exemptSubjects: [{ kind: 'User', name: 'admin' }] } }],
  ])('accepts %s, like the server', (_name, spec) => {
    expect(verdicts(spec)).toEqual({ apiServer: [], server: undefined });
  });

  it.each<[string, unknown, string]>([
    ['an unknown action', { action: 'Block', rules: [{ protect: {} }] }, 'spec.action: must be one of'],
    ['an unknown spec field', { actions: 'Deny', rules: [{ protect: {} }] }, '.spec.actions: unknown field'],
    ['no rules and no annotationProtection', { action: 'Deny' }, 'a policy needs at least one rule'],
    ['an empty rule', { rules: [{}] }, 'fewer than 1 properties'],
    ['two kinds in one rule', { rules: [{ protect: {}, requirePDB: true }] }, 'more than 1 properties'],
    ['the same rule kind twice', { rules: [{ protect: {} }, { protect: {} }] }, 'each rule kind once'],
    ['a window without allow or deny', { rules: [{ window: { timeZone: 'UTC' } }] }, 'give allow or deny'],
    ['a window without a time zone', { rules: [{ window: { allow: ['Mon 09:00-10:00'] } }] }, 'timeZone is required'],
    ['maxDisruptions count 0', { rules: [{ maxDisruptions: { per: 'owner', count: 0 } }] }, 'count: less than 1'],
    ['maxDisruptions count 150%', { rules: [{ maxDisruptions: { per: 'owner', count: '150%' } }] }, 'count: does not match'],
    ['maxDisruptions per cluster', { rules: [{ maxDisruptions: { per: 'cluster', count: 1 } }] }, 'per: must be one of'],
    ['minReplicas 0', { rules: [{ minReplicas: 0 }] }, 'minReplicas: less than 1'],
    ['requirePDB false', { rules: [{ requirePDB: false }] }, 'requirePDB: must be one of [true]'],
    ['a CEL rule without an expression', { rules: [{ cel: { message: 'x' } }] }, 'expression is required'],
    ['a namespace glob with capitals', { match: { namespaces: ['Prod_*'] }, rules: [{ protect: {} }] }, 'namespaces[0]: does not match'],
    ['a ServiceAccount subject without a namespace', { match: { subjects: [{ kind: 'ServiceAccount', name: 'x' }] }, rules: [{ protect: {} }] }, 'a ServiceAccount subject needs its namespace'],
    ['a User subject with a namespace', { match: { subjects: [{ kind: 'User', name: 'x', namespace: 'y' }] }, rules: [{ protect: {} }] }, 'User and Group subjects have none'],
    ['an unknown selector operator', { match: { podSelector: { matchExpressions: [{ key: 'a', operator: 'Like' }] } }, rules: [{ protect: {} }] }, 'operator: must be one of'],
    ['a message over 300 characters', { message: 'x'.repeat(301), rules: [{ protect: {} }] }, 'message: longer than 300'],
  ])('rejects %s at apply time, like the server', (_name, spec, problem) => {
    const { apiServer, server } = verdicts(spec);
    expect(apiServer.join('\n')).toContain(problem);
    expect(server).toBeDefined();
  });

  it.each<[string, unknown]>([
    ['a malformed time range', { rules: [{ window: { allow: ['someday'], timeZone: 'UTC' } }] }],
    ['an unknown time zone', { rules: [{ window: { allow: ['Mon 09:00-10:00'], timeZone: 'Mars/Olympus' } }] }],
    ['a CEL expression that does not compile', { rules: [{ cel: { expression: 'pod.' } }] }],
  ])('leaves %s to the server, which reports the policy as not loaded', (_name, spec) => {
    const { apiServer, server } = verdicts(spec);
    expect(apiServer).toEqual([]);
    expect(server).toBeDefined();
  });

  it('defaults action to Deny and failurePolicy to Fail, like the server', () => {
    const defaulted = applyDefaults(schema, { spec: { rules: [{ protect: {} }] } }) as K8sObject;
    expect(defaulted.spec).toMatchObject({ action: 'Deny', failurePolicy: 'Fail' });
    const parsed = parsePolicy({ apiVersion: 'evictionguard.io/v1alpha1', kind: 'EvictionPolicy', metadata: { name: 'p' }, spec: { rules: [{ protect: {} }] } }, 'test');
    expect(parsed).toMatchObject({ policy: { action: 'Deny', failurePolicy: 'Fail' } });
  });

  it('is installed by every flavour of manifests/', () => {
    expect(find(kustomize(MANIFESTS), 'CustomResourceDefinition')).toEqual([crd]);
  });
});
