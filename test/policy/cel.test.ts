import { timestampFromDate } from '@bufbuild/protobuf/wkt';
import { celTypeName, compileCel, toCelValue, type CelProgram, type CelVariables } from '../../src/policy/cel';

function program(source: string): CelProgram {
  const compiled = compileCel(source);
  if ('error' in compiled) throw new Error(compiled.error);
  return compiled;
}

const variables = (overrides: Partial<CelVariables> = {}): CelVariables => ({
  pod: toCelValue({ name: 'web-1', labels: { app: 'web' }, ready: true }),
  eviction: toCelValue({}),
  request: toCelValue({ userInfo: { username: 'alice', groups: ['dev'] }, dryRun: false }),
  namespaceObject: toCelValue({ name: 'shop', labels: {} }),
  pdbs: toCelValue([{ name: 'web-pdb', status: { disruptionsAllowed: 1 } }]),
  owner: toCelValue({ kind: 'Deployment', name: 'web', replicas: 3, readyReplicas: 3 }),
  node: toCelValue({ name: 'node-a' }),
  now: timestampFromDate(new Date('2024-06-05T10:00:00Z')),
  ...overrides,
});

describe('CEL', () => {
  it('passes integers as CEL ints, so arithmetic with int literals works', () => {
    expect(program('owner.replicas - 1').evaluate(variables())).toEqual({ value: 2n });
    expect(program('pdbs[0].status.disruptionsAllowed > 0').evaluate(variables())).toEqual({ value: true });
    const converted = { ...variables(), pod: toCelValue({ a: 1, b: 1.5, c: [2], d: undefined, e: 'x', f: null }) };
    expect(program('pod.a == 1 && pod.b == 1.5 && pod.c[0] == 2 && !has(pod.d) && pod.e == "x" && pod.f == null').evaluate(converted)).toEqual({ value: true });
    expect(program('type(pod.a) == int && type(pod.b) == double && type(pod.c) == list && type(pod) == map').evaluate(converted)).toEqual({ value: true });
  });

  it('gives now as a timestamp with time zone functions', () => {
    expect(program('now.getHours("Europe/Berlin")').evaluate(variables())).toEqual({ value: 12n });
    expect(program('now > timestamp("2024-01-01T00:00:00Z")').evaluate(variables())).toEqual({ value: true });
  });

  it('offers the strings extension and has()', () => {
    expect(program('request.userInfo.username.startsWith("al") && has(pod.labels.app) && !has(pod.labels.tier)').evaluate(variables())).toEqual({
      value: true,
    });
  });

  it('returns runtime errors as values with their position', () => {
    expect(program('pod.labels.tier == "db"').evaluate(variables())).toEqual({ error: 'line 1, column 11: field not found: tier' });
    expect(program('owner.replicas / 0 > 1').evaluate(variables())).toEqual({ error: expect.stringMatching(/divide by zero/) });
  });

  it('reports parse errors with line and column', () => {
    expect(compileCel('pod.ready &&')).toEqual({ error: 'line 1, column 11: found & but expecting end of input' });
  });

  it('names result types for messages', () => {
    expect([1n, 1.5, null, 'x', [], true].map(celTypeName)).toEqual(['int', 'double', 'null', 'string', 'a list, map or message', 'boolean']);
  });
});
