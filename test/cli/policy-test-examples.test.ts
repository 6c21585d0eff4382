// The example policies are tested by the product's own command: `eviction-guard test
// examples/policies`, run as users run it (the built package's bin), passes; and each suite bites:
// weakening its policy in a copy of the folder makes that suite, and only it, fail.
import { spawnSync } from 'node:child_process';
import { cpSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseDocument } from 'yaml';
import type { TestReport } from '../../src/cli/test';
import { buildPackage, type BuiltPackage } from '../helpers/build';

const EXAMPLES = path.join(__dirname, '../../examples/policies');
const POLICY_FILES = readdirSync(EXAMPLES).filter((name) => name.endsWith('.yaml'));

let built: BuiltPackage | undefined;
let scratch: string;

beforeAll(() => {
  built = buildPackage('policy-test-build-');
  scratch = mkdtempSync(path.join(os.tmpdir(), 'eg-examples-'));
}, 180_000);

afterAll(() => {
  built?.remove();
  if (scratch) rmSync(scratch, { recursive: true, force: true });
});

function evictionGuardTest(...argv: string[]) {
  return spawnSync(process.execPath, [built!.cli, 'test', ...argv], { encoding: 'utf8' });
}

/**
 * The policy made harmless: its action lowered to Audit, so that it only records; a policy that
 * only exempts from annotation protection exempts a group nobody is in instead.
 */
function weaken(text: string): string {
  const document = parseDocument(text);
  if (document.hasIn(['spec', 'rules'])) document.setIn(['spec', 'action'], 'Audit');
  else document.setIn(['spec', 'annotationProtection', 'exemptSubjects'], [{ kind: 'Group', name: 'nobody-is-in-this-group' }]);
  return document.toString();
}

describe('eviction-guard test examples/policies', () => {
  it('passes every suite, and there is a suite for every example policy', () => {
    const result = evictionGuardTest(EXAMPLES, '-o', 'json');
    expect(result.stderr).toBe('');
    const report = JSON.parse(result.stdout) as TestReport;
    expect(report.results.filter((result) => !result.passed)).toEqual([]);
    const tested = new Set(report.results.map((result) => path.basename(result.file, '.test.yaml')));
    expect([...tested].sort()).toEqual(POLICY_FILES.map((name) => path.basename(name, '.yaml')).sort());
    expect(result.status).toBe(0);
  });

  it('prints the table and the summary', () => {
    const result = evictionGuardTest(EXAMPLES);
    expect(result.stdout.split('\n')[0]).toMatch(/^SUITE +CASE +RESULT +REASON$/);
    expect(result.stdout).toMatch(/\n\n\d+ passed, 0 failed\n$/);
    expect(result.status).toBe(0);
  });

  it.each(POLICY_FILES)('fails the suite of %s, and only it, when the policy is weakened', (file) => {
    const copy = mkdtempSync(path.join(scratch, 'weakened-'));
    cpSync(EXAMPLES, copy, { recursive: true });
    const original = readFileSync(path.join(copy, file), 'utf8');
    const weakened = weaken(original);
    expect(weakened).not.toBe(original);
    writeFileSync(path.join(copy, file), weakened);

    const result = evictionGuardTest(copy, '-o', 'json');
    const report = JSON.parse(result.stdout) as TestReport;
    const failedFiles = new Set(report.results.filter((result) => !result.passed).map((result) => path.basename(result.file)));
    expect([...failedFiles]).toEqual([file.replace(/\.yaml$/, '.test.yaml')]);
    expect(result.status).toBe(1);
  });
});
