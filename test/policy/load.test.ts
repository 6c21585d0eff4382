import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { loadPolicyFiles } from '../../src/policy/load';

let dir: string;
beforeEach(() => {
  dir = mkdtempSync(path.join(os.tmpdir(), 'policy-load-'));
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

const write = (name: string, text: string) => {
  const file = path.join(dir, name);
  mkdirSync(path.dirname(file), { recursive: true });
  writeFileSync(file, text);
  return file;
};
const names = (loaded: ReturnType<typeof loadPolicyFiles>) => loaded.documents.map((document) => (document.raw as { metadata: { name: string } }).metadata.name);

describe('loadPolicyFiles()', () => {
  it('reads YAML documents one by one, naming file and document', () => {
    const file = write('a.yaml', 'metadata: { name: one }\n---\n---\nmetadata: { name: two }\n');
    const loaded = loadPolicyFiles([file]);
    expect(loaded.errors).toEqual([]);
    expect(loaded.documents.map((document) => document.origin)).toEqual([`file ${file}, document 1`, `file ${file}, document 3`]);
    expect(names(loaded)).toEqual(['one', 'two']);
  });

  it('reads JSON and the items of a List', () => {
    const json = write('b.json', JSON.stringify({ metadata: { name: 'json' } }));
    const list = write('c.yaml', 'kind: EvictionPolicyList\nitems:\n  - metadata: { name: x }\n  - metadata: { name: y }\n');
    const loaded = loadPolicyFiles([json, list]);
    expect(names(loaded)).toEqual(['json', 'x', 'y']);
    expect(loaded.documents[2].origin).toBe(`file ${list}, item 2`);
  });

  it('reads the policy files of a folder in name order, skipping dot-entries and other files', () => {
    write('p/b.yml', 'metadata: { name: b }');
    write('p/a.yaml', 'metadata: { name: a }');
    write('p/notes.txt', 'not a policy');
    write('p/.hidden.yaml', 'metadata: { name: hidden }');
    write('p/nested/c.yaml', 'metadata: { name: nested }');
    expect(names(loadPolicyFiles([path.join(dir, 'p')]))).toEqual(['a', 'b']);
  });

  it('follows the symlinks of a ConfigMap volume and skips its ..data machinery', () => {
    write('cm/..2024_06_05/policy.yaml', 'metadata: { name: from-configmap }');
    symlinkSync('..2024_06_05', path.join(dir, 'cm/..data'));
    symlinkSync('..data/policy.yaml', path.join(dir, 'cm/policy.yaml'));
    expect(names(loadPolicyFiles([path.join(dir, 'cm')]))).toEqual(['from-configmap']);
  });

  it('reports a missing path and broken YAML, and keeps reading the rest', () => {
    const broken = write('broken.yaml', 'metadata: { name: ok }\n---\nmetadata: [unclosed\n');
    const good = write('good.yaml', 'metadata: { name: good }');
    const loaded = loadPolicyFiles([path.join(dir, 'missing.yaml'), broken, good]);
    expect(names(loaded)).toEqual(['ok', 'good']);
    expect(loaded.errors.map((error) => error.message)).toEqual([
      expect.stringMatching(new RegExp(`^policy path ${path.join(dir, 'missing.yaml')}: ENOENT`)),
      expect.stringMatching(new RegExp(`^policy file ${broken}, document 2: not valid YAML: `)),
    ]);
  });
});
