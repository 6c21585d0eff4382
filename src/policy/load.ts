// Reads EvictionPolicy documents from `--policy` paths: files, or folders of .yaml/.yml/.json
// files (not recursive; dot-entries are skipped, which also skips a ConfigMap volume's ..data
// machinery while its symlinked files are read). YAML may hold several documents; JSON one; a
// List's items count one by one. Problems come back as PolicyErrors, never as exceptions.
import { readdirSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { parseAllDocuments } from 'yaml';
import { describeError } from '../cluster/errors';
import type { PolicyError } from './schema';

/** One policy object as found, before validation. */
export interface PolicyDocument {
  raw: unknown;
  /** Where it was found, for messages: "file policies/a.yaml, document 2" or "cluster". */
  origin: string;
}

interface LoadedPolicyFiles {
  documents: PolicyDocument[];
  errors: PolicyError[];
}

const POLICY_FILE = /\.(ya?ml|json)$/i;

/** The files a path stands for: itself, or the policy files of a folder in name order. */
function policyFiles(target: string): string[] {
  if (!statSync(target).isDirectory()) return [target];
  return readdirSync(target)
    .filter((name) => !name.startsWith('.') && POLICY_FILE.test(name))
    .sort()
    .map((name) => path.join(target, name));
}

function documentsOf(text: string): { value: unknown; error?: string }[] {
  if (/^\s*[[{]/.test(text)) {
    try {
      return [{ value: JSON.parse(text) }];
    } catch {
      // YAML flow style, or broken JSON: the YAML parser gives a positioned error.
    }
  }
  return parseAllDocuments(text).map((document) => {
    const [error] = document.errors;
    return error === undefined ? { value: document.toJS() as unknown } : { value: undefined, error: error.message };
  });
}

function addItems(value: unknown, origin: string, documents: PolicyDocument[]): void {
  if (value === null || value === undefined) return;
  const object = value as { kind?: unknown; items?: unknown };
  if (typeof object.kind === 'string' && object.kind.endsWith('List') && Array.isArray(object.items)) {
    object.items.forEach((item, index) => addItems(item, `${origin}, item ${index + 1}`, documents));
    return;
  }
  documents.push({ raw: value, origin });
}

export function loadPolicyFiles(paths: readonly string[]): LoadedPolicyFiles {
  const documents: PolicyDocument[] = [];
  const errors: PolicyError[] = [];
  for (const target of paths) {
    let files: string[];
    try {
      files = policyFiles(target);
    } catch (error) {
      errors.push({ origin: `file ${target}`, message: `policy path ${target}: ${describeError(error)}` });
      continue;
    }
    for (const file of files) {
      let text: string;
      try {
        text = readFileSync(file, 'utf8');
      } catch (error) {
        errors.push({ origin: `file ${file}`, message: `policy file ${file}: ${describeError(error)}` });
        continue;
      }
      const parsed = documentsOf(text);
      parsed.forEach(({ value, error }, index) => {
        const origin = parsed.length === 1 ? `file ${file}` : `file ${file}, document ${index + 1}`;
        if (error !== undefined) errors.push({ origin, message: `policy ${origin}: not valid YAML: ${error}` });
        else addItems(value, origin, documents);
      });
    }
  }
  return { documents, errors };
}
