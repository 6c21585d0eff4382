import { timestampFromDate } from '@bufbuild/protobuf/wkt';
import { celActivation, celTypeName, compileCel, toCelValue, type CelProgram, type CelVariables } from '../../src/policy/cel';

function program(source: string): CelProgram {
  const compiled = compileCel(source);
  if ('error' in compiled) throw new Error(compiled.error);
  return compiled;
}

const loadError = (source: string) => {
  const compiled = compileCel(source);
  return 'error' in compiled ? compiled.error : undefined;
};

const variables = (overrides: Partial<CelVariables> = {}): CelVariables => ({
  object: toCelValue({ apiVersion: 'policy/v1', kind: 'Eviction', metadata: { name: 'web-1', namespace: 'shop' }, deleteOptions: {} }),
  request: toCelValue({ userInfo: { username: 'alice', groups: ['dev'] }, dryRun: false }),
  pod: toCelValue({
    metadata: { name: 'web-1', labels: { team: 'a', tier: 'web' }, annotations: { 'karpenter.sh/do-not-disrupt': 'true' } },
    spec: { volumes: [{ name: 'data', persistentVolumeClaim: {} }] },
    status: { phase: 'Running' },
  }),
  namespaceObject: toCelValue({ metadata: { name: 'shop', labels: {} } }),
  pdbs: toCelValue([{ metadata: { name: 'web-pdb' }, status: { disruptionsAllowed: 1 } }]),
  owner: toCelValue({ kind: 'Deployment', name: 'web', replicas: 3, readyReplicas: 3 }),
  node: null,
  now: timestampFromDate(new Date('2024-06-05T10:00:00Z')),
  ...overrides,
});

describe('CEL', () => {
  it('passes integers as CEL ints, so arithmetic with int literals works', () => {
    expect(program('owner.replicas - 1').evaluate(variables())).toEqual({ value: 2n });
    expect(program('pdbs[0].status.disruptionsAllowed > 0').evaluate(variables())).toEqual({ value: true });
    // minAvailable is int or string, so the checker lets any value through there.
    const pdbs = toCelValue([{ spec: { minAvailable: { a: 1, b: 1.5, c: [2], d: undefined, e: 'x', f: null } } }]);
    const value = 'pdbs[0].spec.minAvailable';
    const source = `${value}.a == 1 && ${value}.b == 1.5 && ${value}.c[0] == 2 && !has(${value}.d) && ${value}.e == "x" && ${value}.f == null`;
    expect(program(source).evaluate(variables({ pdbs }))).toEqual({ value: true });
    const types = `type(${value}.a) == int && type(${value}.b) == double && type(${value}.c) == list && type(${value}) == map`;
    expect(program(types).evaluate(variables({ pdbs }))).toEqual({ value: true });
  });

  it('gives now as a timestamp with time zone functions', () => {
    expect(program('now.getHours("Europe/Berlin")').evaluate(variables())).toEqual({ value: 12n });
    expect(program('now > timestamp("2024-01-01T00:00:00Z")').evaluate(variables())).toEqual({ value: true });
  });

  it('offers the strings extension and has()', () => {
    const source = 'request.userInfo.username.startsWith("al") && has(pod.metadata.labels.team) && !has(pod.metadata.labels.app)';
    expect(program(source).evaluate(variables())).toEqual({ value: true });
  });

  it('answers qualified names from the activation as the evaluator selects them, errors included', () => {
    const sources = [
      'pod.metadata.name == "web-1" && pod.metadata.labels.team == "a" && has(pod.metadata.labels.tier)',
      'pod.metadata.labels.app == "x"',
      'pod.metadata.labels["app"] == "x"',
      'pod.spec.nodeName == "x"',
      'node.metadata.name == "x"',
      'pdbs.exists(p, p.metadata.name == "web-pdb") && pdbs[0].status.disruptionsAllowed == 1',
    ];
    for (const source of sources) {
      const plain = variables();
      const activation = celActivation(variables());
      // Twice: the second read comes from what the activation kept.
      expect([program(source).evaluate(activation), program(source).evaluate(activation)]).toEqual([program(source).evaluate(plain), program(source).evaluate(plain)]);
    }
  });

  it('rejects macro variables named like a variable, whose qualified names the activation answers', () => {
    expect(compileCel('pdbs.all(pod, pod.metadata.name != "")')).toEqual({ error: 'line 1, column 5: the macro variable "pod" has the name of a variable; choose another name' });
  });

  it('reports parse errors with line and column', () => {
    expect(compileCel('pod.ready &&')).toEqual({ error: 'line 1, column 11: found & but expecting end of input' });
  });

  it('names result types for messages', () => {
    expect([1n, 1.5, null, 'x', [], true].map(celTypeName)).toEqual(['int', 'double', 'null', 'string', 'a list, map or message', 'boolean']);
  });
});

describe('CEL type errors at load time', () => {
  it('rejects a field no declared object has, naming it, its parent and the fields there', () => {
    expect(loadError('pod.metadta.name == "x"')).toBe('line 1, column 4: pod has no field "metadta" (fields: metadata, spec, status)');
    expect(loadError('pod.metadata.nme == "x"')).toBe(
      'line 1, column 13: pod.metadata has no field "nme" (fields: name, namespace, uid, labels, annotations, ownerReferences, creationTimestamp, deletionTimestamp)',
    );
    expect(loadError('\n  node.spec.taints[0].efect == "NoSchedule"')).toBe('line 2, column 22: node.spec.taints[0] has no field "efect" (fields: key, value, effect)');
    expect(loadError('pdbs[0].status.disruptionAllowed > 0')).toMatch(/^line 1, column 15: pdbs\[0\]\.status has no field "disruptionAllowed" \(fields: observedGeneration, disruptionsAllowed,/);
    expect(loadError('object.deleteOptions.preconditions.resourceVersion == ""')).toBe('line 1, column 35: object.deleteOptions.preconditions has no field "resourceVersion" (fields: uid)');
  });

  it('points the short forms to their place in the object shape', () => {
    expect(loadError('pod.name == "x"')).toBe('line 1, column 4: pod has no field "name" (fields: metadata, spec, status); did you mean pod.metadata.name?');
    expect(loadError('pod.labels.app == "x"')).toMatch(/did you mean pod\.metadata\.labels\?$/);
    expect(loadError('eviction.name == "x"')).toBe(
      'line 1, column 1: unknown variable "eviction" (known: object, request, pod, namespaceObject, node, pdbs, owner, now); the Eviction is `object`',
    );
  });

  it('checks has() like a select', () => {
    // A macro's nodes are placed at the macro.
    expect(loadError('has(pod.spec.nodeNme)')).toBe(
      'line 1, column 1: pod.spec has no field "nodeNme" (fields: nodeName, priorityClassName, priority, serviceAccountName, volumes)',
    );
    expect(loadError('has(pod.spec.nodeName) && has(pod.metadata.labels.anything)')).toBeUndefined();
  });

  it('types the variables of comprehensions over declared lists and maps', () => {
    expect(loadError('pod.spec.volumes.exists(v, has(v.emptyDir))')).toBeUndefined();
    expect(loadError('pod.spec.volumes.exists(v, has(v.emptydir))')).toMatch(/^line 1, column 28: v has no field "emptydir" \(fields: name, awsElasticBlockStore,/);
    expect(loadError('pod.metadata.ownerReferences.all(r, r.kind == "ReplicaSet")')).toBeUndefined();
    expect(loadError('pod.metadata.ownerReferences.all(r, r.knd == "ReplicaSet")')).toMatch(/^line 1, column 38: r has no field "knd" \(fields: apiVersion, kind, name, uid, controller\)$/);
    expect(loadError('pdbs.exists(p, p.spec.selector.matchExpressions.exists(e, e.operater == "In"))')).toMatch(/e has no field "operater"/);
    expect(loadError('pod.metadata.labels.all(k, k.startsWith("a") && pod.metadata.labels[k] != "")')).toBeUndefined();
    expect(loadError('pod.status.conditions.exists(c, c.tpe == "Ready")')).toMatch(/c has no field "tpe"/);
    expect(loadError('pdbs.all(p, pod.spec.volumes.all(v, p.metadata.name != v.nam))')).toMatch(/v has no field "nam"/);
    // filter() keeps the element type; map() gives values the checker does not know.
    expect(loadError('pdbs.filter(p, true)[0].metdata.name == ""')).toMatch(/pdbs\.filter\(\.\.\.\)\[0\] has no field "metdata" \(fields: metadata, spec, status\)$/);
    expect(loadError('pdbs.map(p, p.metadata).all(m, m.anything == 1)')).toBeUndefined();
  });

  it('explains what the index keeps of a volume source', () => {
    expect(loadError('pod.spec.volumes.exists(v, has(v.persistentVolumeClaim) && v.persistentVolumeClaim.claimName == "x")')).toMatch(
      /v\.persistentVolumeClaim has no field "claimName": only which source a volume has is kept, not its content \(test it with has\(v\.persistentVolumeClaim\)\)$/,
    );
  });

  it('checks index expressions on declared objects, lists and scalars', () => {
    expect(loadError('pod["spec"]["nodeNam"] == ""')).toMatch(/pod\.spec has no field "nodeNam"/);
    expect(loadError('pod.metadata.annotations["karpenter.sh/do-not-disrupt"] == "true"')).toBeUndefined();
    expect(loadError('pod.spec.volumes.name == "x"')).toMatch(/pod\.spec\.volumes is a list\(object\), which has no field "name": read its elements/);
    expect(loadError('pod.metadata.name.first == "x"')).toBe('line 1, column 18: pod.metadata.name is a string, which has no field "first"');
    expect(loadError('now.seconds > 0')).toMatch(/now is a timestamp, which has no field "seconds"/);
  });

  it('keeps the unknown-variable and unknown-function checks', () => {
    expect(loadError('pods.size() > 0')).toMatch(/^line 1, column 1: unknown variable "pods"/);
    expect(loadError('pod.spec.volumes.exists(v, v.name == w)')).toMatch(/unknown variable "w"/);
    expect(loadError('pod.metadata.name.reverse() == ""')).toBe('line 1, column 18: unknown function "reverse"');
  });
});

describe('CEL runtime errors', () => {
  it('names a missing map key, its path, the keys there and how to test for it', () => {
    expect(program('pod.metadata.labels["app"] == "api"').evaluate(variables())).toEqual({
      error: 'line 1, column 20: pod.metadata.labels has no key "app" (keys: team, tier); test it first: has(pod.metadata.labels.app) or "app" in pod.metadata.labels',
    });
    expect(program('pod.metadata.labels.app == "api"').evaluate(variables())).toEqual({
      error: 'line 1, column 20: pod.metadata.labels has no key "app" (keys: team, tier); test it first: has(pod.metadata.labels.app) or "app" in pod.metadata.labels',
    });
  });

  it('offers only `in` for keys that are no identifiers', () => {
    expect(program('pod.metadata.annotations["cluster-autoscaler.kubernetes.io/safe-to-evict"] == "false"').evaluate(variables())).toEqual({
      error:
        'line 1, column 25: pod.metadata.annotations has no key "cluster-autoscaler.kubernetes.io/safe-to-evict" (keys: karpenter.sh/do-not-disrupt); test it first: "cluster-autoscaler.kubernetes.io/safe-to-evict" in pod.metadata.annotations',
    });
  });

  it('says when a map is empty and names a computed key', () => {
    const error = program('namespaceObject.metadata.labels[pod.metadata.name] == ""').evaluate(variables());
    expect(error).toEqual({ error: expect.stringContaining('namespaceObject.metadata.labels has no key "web-1" (keys: it is empty)') });
  });

  it('names an absent optional field of a declared object', () => {
    expect(program('pod.spec.nodeName == "node-a"').evaluate(variables())).toEqual({
      error: 'line 1, column 9: pod.spec has no field "nodeName" here (fields this one has: volumes): it is absent when not set; test it first: has(pod.spec.nodeName)',
    });
  });

  it('says when node is null', () => {
    expect(program('node.spec.unschedulable').evaluate(variables())).toEqual({
      error: 'line 1, column 5: node is null (the pod is not scheduled, or eviction-guard does not hold its Node), so it has no field "spec"; test it first: node != null && ...',
    });
    expect(program('node != null && node.spec.unschedulable').evaluate(variables())).toEqual({ value: false });
  });

  it('names the path inside comprehensions, without reading the keys', () => {
    const pdbs = toCelValue([{ metadata: { name: 'a' }, spec: {} }]);
    expect(program('pdbs.all(p, p.spec.selector.matchLabels.size() > 0)').evaluate(variables({ pdbs }))).toEqual({
      error: 'line 1, column 19: p.spec has no field "selector" here: it is absent when not set; test it first: has(p.spec.selector)',
    });
  });

  it('keeps other runtime errors as the evaluator words them', () => {
    expect(program('owner.replicas / 0 > 1').evaluate(variables())).toEqual({ error: expect.stringMatching(/divide by zero/) });
  });
});
