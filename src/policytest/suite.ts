// EvictionPolicyTest suites for `eviction-guard test`: where they are found, and what a valid one
// says. A suite names its policies and its cluster by paths relative to itself, a fixed time, and
// cases: one eviction each and the answer it expects. Problems come back as SuiteErrors naming
// the file and the field, never as exceptions.
import { readdirSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { parseAllDocuments } from 'yaml';
import { z } from 'zod';
import { describeError } from '../cluster/errors';
import { fieldPath, POLICY_API_VERSION } from '../policy/schema';

export const SUITE_API_VERSION = POLICY_API_VERSION;
export const SUITE_KIND = 'EvictionPolicyTest';
/** The files a folder is searched for; a file named on the command line is read whatever its name. */
export const SUITE_FILE = /\.test\.ya?ml$/i;
/** Folders discovery never enters: dependencies and dot-folders (.git). */
const SKIPPED_FOLDER = /^(\.|node_modules$)/;

/** Why a suite cannot be found, read or used, naming the file and the field. */
export type SuiteError = string;

const nonEmpty = z.string().min(1, { error: 'must not be empty' });

const DNS_LABEL = '[a-z0-9]([-a-z0-9]*[a-z0-9])?';
const DNS_SUBDOMAIN = `${DNS_LABEL}(\\.${DNS_LABEL})*`;
const POD_REFERENCE = new RegExp(`^${DNS_LABEL}/${DNS_SUBDOMAIN}$`);

/** RFC 3339 with a zone (Z or an offset), as Kubernetes writes times. */
const timeSchema = z.iso
  .datetime({ offset: true, error: 'must be an RFC 3339 time with a zone, such as 2024-06-05T08:00:00Z' })
  .transform((text) => new Date(text));

const expectSchema = z
  .strictObject({
    allowed: z.boolean({ error: 'say allowed: true or allowed: false' }),
    /** HTTP code of the denial: 429, 403, 500... */
    code: z.number().int().min(400).max(599, { error: 'must be an HTTP error code (400-599)' }).optional(),
    /** The check id that decides the denial: policy/<name>/<rule>, pdb/budget, policy/annotation-protect. */
    check: nonEmpty.optional(),
    /** A substring of the denial's message. */
    message: nonEmpty.optional(),
    /** A substring of one of the answer's warnings, denied or allowed. */
    warning: nonEmpty.optional(),
  })
  .superRefine((expected, context) => {
    if (expected.allowed) {
      for (const field of ['code', 'check', 'message'] as const) {
        if (expected[field] !== undefined) {
          context.addIssue({ code: 'custom', path: [field], message: `only a denial has a ${field}: remove it, or expect allowed: false` });
        }
      }
    }
  });

export type Expectation = z.output<typeof expectSchema>;

const caseSchema = z.strictObject({
  name: nonEmpty,
  /** NAMESPACE/NAME of a pod of the suite's cluster. */
  pod: z.string().regex(POD_REFERENCE, { error: 'must be NAMESPACE/NAME of a pod, such as shop/web-0' }),
  /** request.userInfo.username of the eviction. */
  user: nonEmpty,
  /** request.userInfo.groups; system:authenticated when left out, as for any authenticated user. */
  groups: z.array(nonEmpty).optional(),
  dryRun: z.boolean().optional(),
  /** Overrides the suite's time for this case. */
  now: timeSchema.optional(),
  expect: expectSchema,
});

const suiteSchema = z
  .strictObject({
    apiVersion: z.literal(SUITE_API_VERSION, { error: `must be ${SUITE_API_VERSION}` }),
    kind: z.literal(SUITE_KIND, { error: `must be ${SUITE_KIND}` }),
    metadata: z.object({ name: nonEmpty }),
    /** EvictionPolicy files or folders, relative to the suite. */
    policies: z.array(nonEmpty).min(1, { error: 'name at least one policy file' }),
    cluster: z
      .strictObject({
        /** A snapshot file (`--snapshot` format), relative to the suite. */
        snapshot: nonEmpty.optional(),
        /** Pods, PDBs, workloads, Namespaces... as the API server returns them. */
        objects: z.array(z.unknown()).min(1, { error: 'list at least one object' }).optional(),
      })
      .refine((cluster) => (cluster.snapshot === undefined) !== (cluster.objects === undefined), {
        error: 'give either snapshot (a file) or objects (inline), not both',
      }),
    now: timeSchema,
    cases: z.array(caseSchema).min(1, { error: 'list at least one case' }),
  })
  .superRefine((suite, context) => {
    const seen = new Map<string, number>();
    suite.cases.forEach((testCase, index) => {
      const first = seen.get(testCase.name);
      if (first !== undefined) context.addIssue({ code: 'custom', path: ['cases', index, 'name'], message: `"${testCase.name}" is already cases[${first}]: name each case once` });
      seen.set(testCase.name, first ?? index);
    });
  });

export type TestCase = z.output<typeof caseSchema>;

/** A valid suite, its relative paths resolved against its file. */
export interface PolicyTestSuite {
  name: string;
  file: string;
  /** The file, and the document when the file holds several: where errors point. */
  origin: string;
  policies: string[];
  cluster: { snapshot: string } | { objects: unknown[] };
  now: Date;
  cases: TestCase[];
}

/** A suite's place in its file: "a.test.yaml", or "a.test.yaml, document 2" when the file holds several. */
function suiteLocation(file: string, document: number, documents: number): string {
  return documents > 1 ? `${file}, document ${document}` : file;
}

function parseSuite(raw: unknown, file: string, where: string): { suite: PolicyTestSuite } | { error: SuiteError } {
  const result = suiteSchema.safeParse(raw);
  if (!result.success) {
    const problems = result.error.issues.map((issue) => `${issue.path.length > 0 ? `${fieldPath(issue.path)}: ` : ''}${issue.message}`);
    return { error: `${where}: ${problems.join('; ')}` };
  }
  const { metadata, policies, cluster, now, cases } = result.data;
  const folder = path.dirname(file);
  return {
    suite: {
      name: metadata.name,
      file,
      origin: where,
      policies: policies.map((policy) => path.resolve(folder, policy)),
      cluster: cluster.snapshot !== undefined ? { snapshot: path.resolve(folder, cluster.snapshot) } : { objects: cluster.objects! },
      now,
      cases,
    },
  };
}

/** The suite files of a folder, recursively, in path order. */
function suiteFilesUnder(folder: string): string[] {
  return readdirSync(folder, { withFileTypes: true })
    .sort((a, b) => a.name.localeCompare(b.name))
    .flatMap((entry) => {
      const entryPath = path.join(folder, entry.name);
      if (entry.isDirectory()) return SKIPPED_FOLDER.test(entry.name) ? [] : suiteFilesUnder(entryPath);
      return SUITE_FILE.test(entry.name) ? [entryPath] : [];
    });
}

function isSuiteDocument(value: unknown): boolean {
  return typeof value === 'object' && value !== null && (value as { kind?: unknown }).kind === SUITE_KIND;
}

export interface FoundSuites {
  suites: PolicyTestSuite[];
  errors: SuiteError[];
}

/**
 * The suites under `targets`: each a suite file, or a folder searched recursively for *.test.yaml
 * and *.test.yml files. The documents of kind EvictionPolicyTest are suites; others are passed over,
 * but a file named on the command line must hold at least one suite.
 */
export function findSuites(targets: readonly string[]): FoundSuites {
  const suites: PolicyTestSuite[] = [];
  const errors: SuiteError[] = [];
  for (const target of targets) {
    let files: string[];
    let named: boolean;
    try {
      named = !statSync(target).isDirectory();
      files = named ? [target] : suiteFilesUnder(target);
    } catch (error) {
      errors.push(`${target}: ${describeError(error)}`);
      continue;
    }
    for (const file of files) {
      let text: string;
      try {
        text = readFileSync(file, 'utf8');
      } catch (error) {
        errors.push(`${file}: ${describeError(error)}`);
        continue;
      }
      const documents = parseAllDocuments(text);
      const errorsBefore = errors.length;
      let found = 0;
      documents.forEach((document, index) => {
        const where = suiteLocation(file, index + 1, documents.length);
        const [yamlError] = document.errors;
        if (yamlError !== undefined) {
          errors.push(`${where}: not valid YAML: ${yamlError.message}`);
          return;
        }
        const value = document.toJS() as unknown;
        if (!isSuiteDocument(value)) return;
        found++;
        const parsed = parseSuite(value, file, where);
        if ('error' in parsed) errors.push(parsed.error);
        else suites.push(parsed.suite);
      });
      if (named && found === 0 && errors.length === errorsBefore) errors.push(`${file}: holds no document of kind ${SUITE_KIND}`);
    }
  }
  return { suites, errors };
}
