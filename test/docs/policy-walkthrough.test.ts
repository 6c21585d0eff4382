// docs/policies.md, "Writing and testing a policy", stays true: its policy and suite, written to
// files as the reader would, give the outputs it shows, before and after the fix it describes.
import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { runTest, type TestReport } from '../../src/cli/test';
import { captureStdout } from '../helpers/golden';

const doc = readFileSync(path.join(__dirname, '../../docs/policies.md'), 'utf8');
const section = doc.slice(doc.indexOf('## Writing and testing a policy'), doc.indexOf('## PDB admission guard'));
const [policy, suite] = [...section.matchAll(/```yaml\n([\s\S]*?)```/g)].map((match) => match[1]);
const outputs = [...section.matchAll(/```\n\$ eviction-guard test policies\n([\s\S]*?)```/g)].map((match) => match[1]);
const jsonMessage = /```\n"message": (".*")\n```/.exec(section)?.[1];

describe('the walk-through in docs/policies.md', () => {
  const folder = path.join(mkdtempSync(path.join(os.tmpdir(), 'eg-walkthrough-')), 'policies');
  mkdirSync(folder);

  it('shows a policy, its suite, two runs and a message', () => {
    expect([policy, suite].map((block) => block.split('\n')[1])).toEqual(['kind: EvictionPolicy', 'kind: EvictionPolicyTest']);
    expect(outputs).toHaveLength(2);
    expect(jsonMessage).toBeDefined();
  });

  it('fails as shown with the suite as first written, then passes as shown with code: 429', async () => {
    writeFileSync(path.join(folder, 'ledger-one-at-a-time.yaml'), policy);
    writeFileSync(path.join(folder, 'ledger-one-at-a-time.test.yaml'), suite);
    expect(await captureStdout(() => runTest([folder]))).toEqual({ exitCode: 1, stdout: outputs[0] });

    writeFileSync(path.join(folder, 'ledger-one-at-a-time.test.yaml'), suite.replace('code: 403', 'code: 429'));
    expect(await captureStdout(() => runTest([folder]))).toEqual({ exitCode: 0, stdout: outputs[1] });

    const { stdout } = await captureStdout(() => runTest([folder, '-o', 'json']));
    expect((JSON.parse(stdout) as TestReport).results[0].got.message).toBe(JSON.parse(jsonMessage!));
  });
});
