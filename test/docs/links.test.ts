import * as fs from 'node:fs';
import * as path from 'node:path';
import { anchorsOf, deadLinks, repositoryMarkdown } from './markdown-links';

const root = path.resolve(__dirname, '../..');
const read = (file: string) => fs.readFileSync(path.join(root, file), 'utf8');

describe('the Markdown a fresh clone shows', () => {
  const files = repositoryMarkdown(root);

  it('covers the README and the reference under docs/', () => {
    expect(files).toEqual(
      expect.arrayContaining([
        'README.md',
        'docs/architecture.md',
        'docs/cli.md',
        'docs/development.md',
        'docs/eviction-semantics.md',
        'docs/install.md',
        'docs/operations.md',
        'docs/policies.md',
      ]),
    );
  });

  it('has no dead relative link or #anchor, and leaves the repository only over https', () => {
    expect(deadLinks(root, files)).toEqual([]);
  });

  it('keeps the README a front door of at most 300 lines', () => {
    expect(read('README.md').split('\n').length).toBeLessThanOrEqual(300);
  });

  it('has a heading in docs/eviction-semantics.md for every § that code, tests and the demo cite', () => {
    const headings = read('docs/eviction-semantics.md')
      .split('\n')
      .flatMap((line) => /^#{2,3} (\d+(?:\.\d+)?)\.? /.exec(line)?.[1] ?? []);
    const cited = new Set<string>();
    for (const dir of ['src', 'test', 'demo', 'docs']) {
      for (const name of fs.readdirSync(path.join(root, dir), { recursive: true, encoding: 'utf8' })) {
        const file = path.join(root, dir, name);
        if (!fs.statSync(file).isFile()) continue;
        for (const match of fs.readFileSync(file, 'utf8').matchAll(/eviction-semantics\.md §(\d+(?:\.\d+)?)/g)) cited.add(match[1]);
      }
    }
    expect(cited.size).toBeGreaterThan(5);
    expect([...cited].filter((section) => !headings.includes(section))).toEqual([]);
  });
});

describe('deadLinks()', () => {
  const fixture = (sources: Record<string, string>) => (file: string) => {
    if (!(file in sources)) throw new Error(`read ${file}`);
    return sources[file];
  };

  it('reports a missing file, a missing anchor in another file or the same one, and a link out of the repository', () => {
    const sources = {
      'README.md': [
        '# Front door',
        '[cli](docs/cli.md#eviction-guard-serve) [gone](docs/gone.md) [bad anchor](docs/cli.md#no-such-heading)',
        '[self](#front-door) [self typo](#front-dor) [semantics](../shared/docs/eviction-semantics.md)',
        '[upstream](https://github.com/kubernetes/kubernetes) [plain http](http://example.com) [folder](manifests/)',
      ].join('\n'),
      'docs/cli.md': '# The command\n\n## `eviction-guard serve`\n\n```sh\n# not a heading\n```\n',
    };
    expect(deadLinks(root, Object.keys(sources), fixture(sources))).toEqual([
      { file: 'README.md', target: 'docs/gone.md', problem: 'no such file: docs/gone.md' },
      { file: 'README.md', target: 'docs/cli.md#no-such-heading', problem: 'docs/cli.md has no heading #no-such-heading' },
      { file: 'README.md', target: '#front-dor', problem: 'README.md has no heading #front-dor' },
      { file: 'README.md', target: '../shared/docs/eviction-semantics.md', problem: 'leaves the repository' },
      { file: 'README.md', target: 'http://example.com', problem: 'a link out of the repository must be https' },
    ]);
  });
});

describe('anchorsOf()', () => {
  it('slugs headings as GitHub does, numbering repeats, and ignores # lines inside code blocks', () => {
    const anchors = anchorsOf(
      ['# `eviction-guard check`: drain preflight', '## 2.1 Around admission (before `Create`)', '## Notes', '## Notes', '```sh', '# a comment', '```', '<a id="kubectl-denial"></a>'].join('\n'),
    );
    expect([...anchors].sort()).toEqual(
      ['21-around-admission-before-create', 'eviction-guard-check-drain-preflight', 'kubectl-denial', 'notes', 'notes-1'].sort(),
    );
  });
});
