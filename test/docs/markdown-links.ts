import * as fs from 'node:fs';
import * as path from 'node:path';
import MarkdownIt from 'markdown-it';
import GithubSlugger from 'github-slugger';

type Token = MarkdownIt.Token;

const markdown = new MarkdownIt({ html: true });

/** A link that does not lead where it claims to, as `file: target (problem)`. */
export interface DeadLink {
  file: string;
  target: string;
  problem: string;
}

/** The Markdown files a reader of the repository sees: README.md and everything under docs/. */
export function repositoryMarkdown(root: string): string[] {
  const docs = path.join(root, 'docs');
  const underDocs = fs.existsSync(docs)
    ? fs
        .readdirSync(docs, { recursive: true, encoding: 'utf8' })
        .filter((name) => name.endsWith('.md'))
        .map((name) => path.join('docs', name))
    : [];
  return ['README.md', ...underDocs.sort()];
}

function inlineText(token: Token | undefined): string {
  return (token?.children ?? [])
    .filter((child) => child.type === 'text' || child.type === 'code_inline')
    .map((child) => child.content)
    .join('');
}

/**
 * The `#anchors` GitHub gives a Markdown file: one per heading, slugged as GitHub does (repeated
 * headings get -1, -2, ...), plus explicit HTML `id`/`name` anchors.
 */
export function anchorsOf(source: string): Set<string> {
  const slugger = new GithubSlugger();
  const anchors = new Set<string>();
  const tokens = markdown.parse(source, {});
  tokens.forEach((token, i) => {
    if (token.type === 'heading_open') anchors.add(slugger.slug(inlineText(tokens[i + 1])));
  });
  for (const token of allTokens(tokens)) {
    if (token.type !== 'html_block' && token.type !== 'html_inline') continue;
    for (const match of token.content.matchAll(/\s(?:id|name)="([^"]+)"/g)) anchors.add(match[1]);
  }
  return anchors;
}

/** Every link and image target in a Markdown source, in order, as written. */
export function linkTargets(source: string): string[] {
  return allTokens(markdown.parse(source, {})).flatMap((token) => {
    if (token.type === 'link_open') return [String(token.attrGet('href') ?? '')];
    if (token.type === 'image') return [String(token.attrGet('src') ?? '')];
    return [];
  });
}

/** Block tokens and the inline tokens inside them, in document order. */
function allTokens(tokens: Token[]): Token[] {
  return tokens.flatMap((token) => [token, ...allTokens(token.children ?? [])]);
}

/**
 * Checks the links of `files` (paths relative to `root`): a relative link must name a file or folder
 * inside the repository, and an `#anchor`, in the same file or another Markdown file, must exist.
 * Links leaving the repository must be https.
 */
export function deadLinks(root: string, files: string[], read = (file: string) => fs.readFileSync(path.join(root, file), 'utf8')): DeadLink[] {
  const anchorCache = new Map<string, Set<string>>();
  const anchorsIn = (file: string): Set<string> => {
    let anchors = anchorCache.get(file);
    if (!anchors) anchorCache.set(file, (anchors = anchorsOf(read(file))));
    return anchors;
  };
  const exists = (file: string): boolean => files.includes(file) || fs.existsSync(path.join(root, file));

  const dead: DeadLink[] = [];
  for (const file of files) {
    for (const target of linkTargets(read(file))) {
      const fail = (problem: string) => dead.push({ file, target, problem });
      if (/^[a-z][a-z0-9+.-]*:/i.test(target)) {
        if (!target.startsWith('https://')) fail('a link out of the repository must be https');
        continue;
      }
      const hash = target.indexOf('#');
      const linkPath = decodeURI(hash < 0 ? target : target.slice(0, hash));
      const anchor = hash < 0 ? undefined : decodeURIComponent(target.slice(hash + 1));
      const resolved = linkPath === '' ? file : path.normalize(path.join(path.dirname(file), linkPath));
      if (resolved.startsWith('..') || path.isAbsolute(resolved)) {
        fail('leaves the repository');
        continue;
      }
      if (!exists(resolved)) {
        fail(`no such file: ${resolved}`);
        continue;
      }
      if (anchor !== undefined) {
        if (!resolved.endsWith('.md')) fail(`an #anchor into ${resolved}, which is not Markdown`);
        else if (!anchorsIn(resolved).has(anchor)) fail(`${resolved} has no heading #${anchor}`);
      }
    }
  }
  return dead;
}
