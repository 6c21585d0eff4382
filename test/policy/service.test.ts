import { mkdtempSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { ClusterLogger } from '../../src/cluster/view';
import { startPolicyService, type PolicyService } from '../../src/policy/service';
import { attemptFor, factsFor, podFacts } from '../helpers/facts';

const silent: ClusterLogger = { debug() {}, info() {}, warn() {}, error() {} };
let dir: string;
let service: PolicyService | undefined;

beforeEach(() => {
  dir = mkdtempSync(path.join(os.tmpdir(), 'policy-service-'));
});
afterEach(async () => {
  await service?.close();
  rmSync(dir, { recursive: true, force: true });
});

const policyYaml = (name: string, rule: string, action = 'Deny') =>
  `apiVersion: evictionguard.io/v1alpha1\nkind: EvictionPolicy\nmetadata: { name: ${name} }\nspec:\n  action: ${action}\n  rules: [${rule}]\n`;
const checks = () => service!.evaluate(attemptFor('web-1'), factsFor(podFacts('web-1'), [])).findings.map((finding) => `${finding.check}:${finding.action}`);

async function waitFor(what: string, condition: () => boolean, timeoutMs = 5000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

describe('PolicyService', () => {
  it('loads policies from a folder and reloads them when files change, without a restart', async () => {
    writeFileSync(path.join(dir, 'protect.yaml'), policyYaml('protect-all', '{ protect: {} }'));
    service = startPolicyService({ paths: [dir], mode: 'enforce', logger: silent, reloadDebounceMs: 20 });
    expect(checks()).toEqual(['policy/protect-all/protect:deny']);
    expect(service.status()).toEqual({ mode: 'enforce', files: [dir], loaded: ['protect-all'], errors: [] });

    writeFileSync(path.join(dir, 'protect.yaml'), policyYaml('protect-all', '{ protect: {} }', 'Warn'));
    await waitFor('the edit', () => checks()[0] === 'policy/protect-all/protect:warn');

    writeFileSync(path.join(dir, 'pdb.yaml'), policyYaml('need-pdb', '{ requirePDB: true }'));
    await waitFor('the new file', () => checks().length === 2);

    rmSync(path.join(dir, 'protect.yaml'));
    await waitFor('the removal', () => checks().join() === 'policy/need-pdb/requirePDB:deny');
  });

  it('reports an invalid edit and keeps serving the other policies', async () => {
    writeFileSync(path.join(dir, 'a.yaml'), policyYaml('a', '{ protect: {} }'));
    writeFileSync(path.join(dir, 'b.yaml'), policyYaml('b', '{ requirePDB: true }'));
    service = startPolicyService({ paths: [dir], mode: 'enforce', logger: silent, reloadDebounceMs: 20 });
    writeFileSync(path.join(dir, 'a.yaml'), policyYaml('a', '{ window: { allow: ["Mon 09:00-17:00"], timeZone: Mars/Olympus } }'));
    await waitFor('the error', () => service!.status().errors.length === 1);
    expect(service.status().errors[0].message).toContain('policy "a" (file');
    expect(service.status().errors[0].message).toContain('spec.rules[0].window.timeZone: "Mars/Olympus" is not an IANA time zone');
    expect(checks()).toEqual(['policy/b/requirePDB:deny']);
  });

  it('follows a single file replaced by a rename, as editors and ConfigMap updates do', async () => {
    const file = path.join(dir, 'policy.yaml');
    writeFileSync(file, policyYaml('one', '{ protect: {} }'));
    service = startPolicyService({ paths: [file], mode: 'warn', logger: silent, reloadDebounceMs: 20 });
    expect(checks()).toEqual(['policy/one/protect:warn']);
    writeFileSync(path.join(dir, '.policy.yaml.tmp'), policyYaml('two', '{ protect: {} }'));
    renameSync(path.join(dir, '.policy.yaml.tmp'), file);
    await waitFor('the replacement', () => checks()[0] === 'policy/two/protect:warn');
  });

  it('starts with no policies and no watch when no path is given', () => {
    service = startPolicyService({ paths: [], mode: 'audit', logger: silent });
    expect(checks()).toEqual([]);
    expect(service.status()).toEqual({ mode: 'audit', files: [], loaded: [], errors: [] });
  });
});
