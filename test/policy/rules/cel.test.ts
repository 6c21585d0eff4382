import { checkCel } from '../../../src/policy/rules/cel';
import type { CelRule } from '../../../src/policy/schema';
import { pdbFacts, podFacts } from '../../helpers/facts';
import { policy, ruleInput } from '../../helpers/policies';

const celRule = (yaml: string) => policy('c', `rules: [{ cel: ${yaml} }]`).rules[0] as CelRule;

describe('cel rule', () => {
  it('passes when the expression is true', () => {
    expect(checkCel(celRule('{ expression: "owner.replicas - 1 >= 1" }'), ruleInput({ others: [podFacts('web-2')] }))).toBeUndefined();
  });

  it('is violated when it is false, with the message, retrying will not help', () => {
    expect(checkCel(celRule('{ expression: "owner.replicas - 1 >= 2", message: "keep two" }'), ruleInput())).toEqual({
      violation: { message: 'keep two', summary: 'keep two', retryable: false },
    });
    expect(checkCel(celRule('{ expression: "false" }'), ruleInput())).toEqual({
      violation: { message: 'The CEL rule is false: false', summary: 'The CEL rule is false: false', retryable: false },
    });
  });

  it('builds the message from messageExpression, falling back to message when it fails', () => {
    const rule = celRule('{ expression: "size(pdbs) > 1", messageExpression: "\\"only \\" + string(size(pdbs)) + \\" PDB for \\" + pod.metadata.name", message: fallback }');
    expect(checkCel(rule, ruleInput({ pdbs: [pdbFacts('web-pdb')] }))).toMatchObject({ violation: { message: 'only 1 PDB for web-1' } });
    const failing = celRule('{ expression: "false", messageExpression: "pod.metadata.labels.missing", message: fallback }');
    expect(checkCel(failing, ruleInput())).toMatchObject({ violation: { message: 'fallback' } });
    const notString = celRule('{ expression: "false", messageExpression: "1" }');
    expect(checkCel(notString, ruleInput())).toMatchObject({ violation: { message: 'The CEL rule is false: false' } });
  });

  describe('reads every variable in the shape of the Kubernetes objects', () => {
    const pod = podFacts('web-1', {
      uid: 'pod-uid',
      annotations: { 'karpenter.sh/do-not-disrupt': 'true' },
      creationTimestamp: '2024-06-05T09:00:00Z',
      ownerReferences: [{ apiVersion: 'apps/v1', kind: 'ReplicaSet', name: 'web-7d9c5b7f6', uid: 'rs-uid', controller: true }],
      priorityClassName: 'high',
      priority: 1000,
      serviceAccountName: 'web',
      volumes: [
        { name: 'data', source: 'persistentVolumeClaim' },
        { name: 'cache', source: 'emptyDir' },
        { name: 'odd', source: '' },
      ],
      conditions: [{ type: 'Ready', status: 'True', lastTransitionTime: '2024-06-05T09:01:00Z' }],
      startTime: '2024-06-05T09:00:01Z',
    });
    const node = {
      name: 'node-a',
      uid: 'node-uid',
      labels: { 'topology.kubernetes.io/zone': 'eu-1a' },
      annotations: { 'node.alpha.kubernetes.io/ttl': '0' },
      unschedulable: true,
      taints: [{ key: 'node.kubernetes.io/unschedulable', effect: 'NoSchedule' }],
      conditions: [{ type: 'Ready', status: 'True', reason: 'KubeletReady', lastTransitionTime: '2024-06-01T00:00:00Z' }],
    };
    const pdb = pdbFacts('web-pdb', { uid: 'pdb-uid', maxUnavailable: '25%', minAvailable: undefined }, {
      disruptedPods: { 'web-0': '2024-06-05T09:59:00Z' },
      conditions: [{ type: 'DisruptionAllowed', status: 'True', reason: 'SufficientPods' }],
    });
    const input = ruleInput({
      pod,
      pdbs: [pdb],
      attempt: { gracePeriodSeconds: 30, preconditionUid: 'pod-uid', requester: { username: 'alice', uid: 'alice-uid', groups: ['system:authenticated'] } },
      context: { node, namespace: { name: 'shop', uid: 'ns-uid', labels: { team: 'a' }, annotations: { owner: 'team-a' } } },
    });
    const holds = (expression: string, options = input) => expect({ expression, result: checkCel(celRule(`{ expression: ${JSON.stringify(expression)} }`), options) }).toEqual({ expression, result: undefined });

    it.each([
      ['object', 'object.apiVersion == "policy/v1" && object.kind == "Eviction" && object.metadata.name == "web-1" && object.metadata.namespace == "shop"'],
      ['object.deleteOptions', 'object.deleteOptions.gracePeriodSeconds == 30 && object.deleteOptions.preconditions.uid == "pod-uid" && !has(object.deleteOptions.dryRun)'],
      ['request', 'request.uid == "uid-1" && request.kind == {"group": "policy", "version": "v1", "kind": "Eviction"} && request.resource == {"group": "", "version": "v1", "resource": "pods"}'],
      ['request (more)', 'request.subResource == "eviction" && request.name == "web-1" && request.namespace == "shop" && request.operation == "CREATE" && !request.dryRun'],
      ['request.userInfo', 'request.userInfo.username == "alice" && request.userInfo.uid == "alice-uid" && request.userInfo.groups == ["system:authenticated"]'],
      ['pod.metadata', 'pod.metadata.name == "web-1" && pod.metadata.namespace == "shop" && pod.metadata.uid == "pod-uid" && pod.metadata.labels == {"app": "web"}'],
      ['pod.metadata.annotations', 'pod.metadata.annotations["karpenter.sh/do-not-disrupt"] == "true" && size(pod.metadata.annotations) == 1'],
      ['pod.metadata.ownerReferences', 'pod.metadata.ownerReferences == [{"apiVersion": "apps/v1", "kind": "ReplicaSet", "name": "web-7d9c5b7f6", "uid": "rs-uid", "controller": true}]'],
      ['pod.metadata timestamps', 'pod.metadata.creationTimestamp == timestamp("2024-06-05T09:00:00Z") && now - pod.metadata.creationTimestamp == duration("1h") && !has(pod.metadata.deletionTimestamp)'],
      ['pod.spec', 'pod.spec.nodeName == "node-a" && pod.spec.priorityClassName == "high" && pod.spec.priority == 1000 && pod.spec.serviceAccountName == "web"'],
      ['pod.spec.volumes', 'pod.spec.volumes == [{"name": "data", "persistentVolumeClaim": {}}, {"name": "cache", "emptyDir": {}}, {"name": "odd"}] && pod.spec.volumes.exists(v, has(v.emptyDir))'],
      ['pod.status', 'pod.status.phase == "Running" && pod.status.startTime == timestamp("2024-06-05T09:00:01Z")'],
      ['pod.status.conditions', 'pod.status.conditions.exists(c, c.type == "Ready" && c.status == "True" && c.lastTransitionTime == timestamp("2024-06-05T09:01:00Z"))'],
      ['namespaceObject', 'namespaceObject.metadata == {"name": "shop", "uid": "ns-uid", "labels": {"team": "a", "kubernetes.io/metadata.name": "shop"}, "annotations": {"owner": "team-a"}}'],
      ['node.metadata', 'node.metadata == {"name": "node-a", "uid": "node-uid", "labels": {"topology.kubernetes.io/zone": "eu-1a"}, "annotations": {"node.alpha.kubernetes.io/ttl": "0"}}'],
      ['node.spec', 'node.spec.unschedulable && node.spec.taints == [{"key": "node.kubernetes.io/unschedulable", "effect": "NoSchedule"}]'],
      ['node.status', 'node.status.conditions[0].type == "Ready" && node.status.conditions[0].reason == "KubeletReady" && node.status.conditions[0].lastTransitionTime == timestamp("2024-06-01T00:00:00Z")'],
      ['pdbs[].metadata', 'size(pdbs) == 1 && pdbs[0].metadata == {"name": "web-pdb", "namespace": "shop", "uid": "pdb-uid", "generation": 1}'],
      ['pdbs[].spec', 'pdbs[0].spec == {"selector": {"matchLabels": {"app": "web"}}, "maxUnavailable": "25%"}'],
      ['pdbs[].status', 'pdbs[0].status.observedGeneration == 1 && pdbs[0].status.disruptionsAllowed == 1 && pdbs[0].status.currentHealthy == 3 && pdbs[0].status.desiredHealthy == 2 && pdbs[0].status.expectedPods == 3'],
      ['pdbs[].status (more)', 'pdbs[0].status.disruptedPods["web-0"] == timestamp("2024-06-05T09:59:00Z") && pdbs[0].status.conditions == [{"type": "DisruptionAllowed", "status": "True", "reason": "SufficientPods"}]'],
      ['owner', 'owner == {"kind": "ReplicaSet", "name": "web-7d9c5b7f6", "replicas": 1, "readyReplicas": 1}'],
      ['now', 'now == timestamp("2024-06-05T10:00:00Z")'],
    ])('%s', (_, expression) => holds(expression));

    it('gives node as null when the pod has none, and dry runs in request and deleteOptions', () => {
      const unscheduled = ruleInput({ pod: podFacts('web-1', { nodeName: undefined }), attempt: { dryRun: true }, context: { node: undefined } });
      holds('node == null && !has(pod.spec.nodeName) && request.dryRun && object.deleteOptions.dryRun == ["All"]', unscheduled);
      holds('!has(object.deleteOptions.gracePeriodSeconds) && !has(object.deleteOptions.preconditions) && !has(request.userInfo.uid)', unscheduled);
    });
  });

  it('builds a field once per eviction, and only when an expression reads it', () => {
    let reads = 0;
    const pod = podFacts('web-1');
    const counted = Object.defineProperty({ ...pod }, 'annotations', {
      get() {
        reads++;
        return { 'karpenter.sh/do-not-disrupt': 'true' };
      },
    });
    const input = ruleInput({ pod: counted });
    for (let policy = 0; policy < 5; policy++) expect(checkCel(celRule('{ expression: "pod.metadata.name == \\"web-1\\"" }'), input)).toBeUndefined();
    expect(reads).toBe(0);
    for (let policy = 0; policy < 5; policy++) expect(checkCel(celRule('{ expression: "size(pod.metadata.annotations) == 1" }'), input)).toBeUndefined();
    expect(reads).toBe(1);
  });

  it('reports a runtime error with its position and what is there instead of deciding', () => {
    expect(checkCel(celRule('{ expression: "pod.metadata.labels.tier == \\"db\\"" }'), ruleInput())).toEqual({
      error: 'CEL evaluation failed: line 1, column 20: pod.metadata.labels has no key "tier" (keys: app); test it first: has(pod.metadata.labels.tier) or "tier" in pod.metadata.labels',
    });
  });

  it('reports a result that is not a bool as an error', () => {
    expect(checkCel(celRule('{ expression: "owner.replicas" }'), ruleInput())).toEqual({ error: 'CEL expression returned int, expected a bool' });
  });
});
