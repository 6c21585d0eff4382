import { readdirSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { isDeepStrictEqual } from 'node:util';
import { isMap, isScalar, isSeq, parseAllDocuments, Scalar, type Document } from 'yaml';
import { writeFileAtomically } from './files';

/**
 * Sets clientConfig.caBundle in every webhook of every ValidatingWebhookConfiguration in YAML
 * manifests, for `eviction-guard certs --patch-manifests`, leaving everything else as it was.
 */

const KIND = 'ValidatingWebhookConfiguration';

/** A manifest that cannot be patched: not YAML, or a ValidatingWebhookConfiguration without webhooks. */
export class ManifestError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ManifestError';
  }
}

export interface PatchedText {
  text: string;
  /** Webhooks whose caBundle now holds the bundle (including those that already did). */
  webhooks: number;
  changed: boolean;
}

/**
 * Patches the YAML text of one file (any number of documents). An existing caBundle value is
 * replaced in place, so comments, quoting and layout are kept byte for byte; when a webhook has
 * no caBundle yet, the file is re-serialised through the yaml Document API instead, which keeps
 * comments and order but may normalise spacing. Either way the result is parsed again and must hold
 * exactly the original data with the caBundles set.
 */
export function patchCaBundleText(text: string, bundle: string, fileName = 'manifest'): PatchedText {
  if (!text.includes(KIND)) return { text, webhooks: 0, changed: false };
  const documents = parseDocuments(text, fileName);

  const splices: { start: number; end: number; replacement: string }[] = [];
  let needsInsertion = false;
  let webhooks = 0;
  for (const document of documents) {
    if (document.get('kind') !== KIND) continue;
    const list = document.get('webhooks', true);
    if (!isSeq(list) || list.items.length === 0) {
      throw new ManifestError(`${fileName}: ${describe(document)} has no webhooks to patch`);
    }
    list.items.forEach((item, index) => {
      if (!isMap(item)) throw new ManifestError(`${fileName}: ${describe(document)} webhooks[${index}] is not a mapping`);
      const keyPath = ['webhooks', index, 'clientConfig', 'caBundle'];
      const node = document.getIn(keyPath, true);
      const splice = isScalar(node) ? spliceFor(text, node, bundle) : undefined;
      if (splice) splices.push(splice);
      else needsInsertion = true;
      document.setIn(keyPath, bundle);
      webhooks += 1;
    });
  }
  if (webhooks === 0) return { text, webhooks: 0, changed: false };

  let patched: string | undefined;
  if (!needsInsertion) {
    patched = text;
    for (const { start, end, replacement } of splices.sort((a, b) => b.start - a.start)) {
      patched = patched.slice(0, start) + replacement + patched.slice(end);
    }
    if (!sameData(patched, documents)) patched = undefined;
  }
  if (patched === undefined) {
    patched = documents.map((document) => document.toString({ lineWidth: 0, flowCollectionPadding: false })).join('');
    if (!sameData(patched, documents)) {
      throw new ManifestError(`${fileName}: could not patch caBundle without changing the meaning of the file`);
    }
  }
  return { text: patched, webhooks, changed: patched !== text };
}

export interface PatchedFile {
  file: string;
  webhooks: number;
  changed: boolean;
}

export interface PlannedPatch extends PatchedFile {
  text: string;
}

/**
 * Works out, without writing, the patch of a file, or of every .yaml/.yml file under a directory
 * (recursively, skipping dot-entries) that holds a ValidatingWebhookConfiguration. Throws a
 * ManifestError when a file cannot be patched or no webhook was found at all.
 */
export function planCaBundlePatches(target: string, bundle: string): PlannedPatch[] {
  let isDirectory: boolean;
  try {
    isDirectory = statSync(target).isDirectory();
  } catch {
    throw new ManifestError(`${target}: no such file or directory`);
  }
  const files = isDirectory ? yamlFilesUnder(target) : [target];
  const plans: PlannedPatch[] = [];
  for (const file of files) {
    const patched = patchCaBundleText(readFileSync(file, 'utf8'), bundle, file);
    if (patched.webhooks > 0) plans.push({ file, ...patched });
  }
  if (plans.length === 0) {
    throw new ManifestError(`${target}: found no ${KIND} with webhooks in ${isDirectory ? 'any .yaml/.yml file under it' : 'the file'}`);
  }
  return plans;
}

/** Rewrites the changed files atomically, keeping their mode. */
export function writeCaBundlePatches(plans: readonly PlannedPatch[]): PatchedFile[] {
  for (const plan of plans) {
    if (plan.changed) writeFileAtomically(plan.file, plan.text, statSync(plan.file).mode & 0o777);
  }
  return plans.map(({ file, webhooks, changed }) => ({ file, webhooks, changed }));
}

/** planCaBundlePatches, then writeCaBundlePatches. */
export function patchCaBundleFiles(target: string, bundle: string): PatchedFile[] {
  return writeCaBundlePatches(planCaBundlePatches(target, bundle));
}

function yamlFilesUnder(dir: string): string[] {
  const files: string[] = [];
  for (const entry of readdirSync(dir, { withFileTypes: true }).sort((a, b) => a.name.localeCompare(b.name))) {
    if (entry.name.startsWith('.')) continue;
    const entryPath = path.join(dir, entry.name);
    if (entry.isDirectory()) files.push(...yamlFilesUnder(entryPath));
    else if (entry.isFile() && /\.ya?ml$/i.test(entry.name)) files.push(entryPath);
  }
  return files;
}

function parseDocuments(text: string, fileName: string): Document[] {
  const documents = parseAllDocuments(text);
  if (!Array.isArray(documents)) return [];
  for (const document of documents) {
    const [error] = document.errors;
    if (error) throw new ManifestError(`${fileName}: not valid YAML: ${error.message}`);
  }
  return documents;
}

/** The text edit that puts the bundle where an existing scalar value is, or undefined when there is none to make. */
function spliceFor(text: string, node: Scalar, bundle: string): { start: number; end: number; replacement: string } | undefined {
  if (!node.range) return undefined;
  const [start, end] = node.range;
  switch (node.type) {
    case Scalar.QUOTE_DOUBLE:
      return { start, end, replacement: `"${bundle}"` };
    case Scalar.QUOTE_SINGLE:
      return { start, end, replacement: `'${bundle}'` };
    case Scalar.PLAIN: {
      if (start !== end) return { start, end, replacement: bundle };
      // "caBundle:" with nothing after it (or only a comment): keep the separating spaces YAML needs.
      const before = /\s/.test(text.charAt(start - 1)) ? '' : ' ';
      const after = text.charAt(start) === '#' ? ' ' : '';
      return { start, end, replacement: `${before}${bundle}${after}` };
    }
    default:
      // Block scalars and anything unusual: re-serialise instead.
      return undefined;
  }
}

/** Whether text parses into exactly the data of the (patched) documents: the bundle in place, nothing else different. */
function sameData(text: string, expected: readonly Document[]): boolean {
  const documents = parseAllDocuments(text);
  if (!Array.isArray(documents) || documents.length !== expected.length) return false;
  return documents.every((document, index) => document.errors.length === 0 && isDeepStrictEqual(document.toJS(), expected[index].toJS()));
}

function describe(document: Document): string {
  const name = document.getIn(['metadata', 'name']);
  return typeof name === 'string' ? `${KIND} ${name}` : KIND;
}
