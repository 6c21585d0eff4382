// `eviction-guard test PATH...`: runs EvictionPolicyTest suites, in the manner of `kyverno test`
// and `gator verify`, so a policy is tested by the decisions the webhook itself would make.
import { createLogger } from '../audit/logger';
import { loadSuite, runSuite, type CaseResult, type LoadedSuite } from '../policytest/run';
import { findSuites, SUITE_KIND, type SuiteError } from '../policytest/suite';
import { usageAs } from './program';
import { parseOutputFormat, renderData, renderTable, type OutputFormat } from './render';
import { EXIT, parseFlags, UsageError } from './usage';

export const TEST_USAGE = `Usage: eviction-guard test PATH... [-o table|json|yaml]

Runs the policy test suites (kind ${SUITE_KIND}) found under each PATH: a suite file, or a folder
searched recursively for *.test.yaml and *.test.yml files. Each case is one eviction, decided as the
webhook decides it (PDB mirror, the suite's policies) against the suite's cluster at its fixed time,
and compared with the answer the case expects.

Flags:
  -o, --output FORMAT   table (default), json or yaml

Exit codes: 0 every case passed, 1 some case failed, 2 a usage error or an invalid suite.`;

export interface TestOptions {
  paths: string[];
  output: OutputFormat;
}

export function parseTestOptions(argv: string[]): TestOptions | 'help' {
  const { values, positionals } = parseFlags(argv, { output: { type: 'string', short: 'o' } }, TEST_USAGE, true);
  if (values.help) return 'help';
  if (positionals.length === 0) throw new UsageError('give at least one PATH: a suite file or a folder of them', TEST_USAGE);
  return { paths: positionals, output: parseOutputFormat(values.output as string | undefined, TEST_USAGE) };
}

/** What `-o json|yaml` prints. */
export interface TestReport {
  suites: number;
  passed: number;
  failed: number;
  results: CaseResult[];
}

/** The suites under `paths`, loaded; or every reason they cannot all run. */
export async function loadSuites(paths: readonly string[]): Promise<{ suites: LoadedSuite[] } | { errors: SuiteError[] }> {
  const found = findSuites(paths);
  if (found.errors.length === 0 && found.suites.length === 0) {
    return { errors: [`no ${SUITE_KIND} suite found in ${paths.join(', ')} (suites are files named *.test.yaml or *.test.yml)`] };
  }
  const logger = createLogger('silent');
  const suites: LoadedSuite[] = [];
  const errors = [...found.errors];
  for (const suite of found.suites) {
    const loaded = await loadSuite(suite, logger);
    if (Array.isArray(loaded)) errors.push(...loaded);
    else suites.push(loaded);
  }
  return errors.length > 0 ? { errors } : { suites };
}

export async function runTests(suites: readonly LoadedSuite[]): Promise<TestReport> {
  const results: CaseResult[] = [];
  for (const suite of suites) results.push(...(await runSuite(suite)));
  const passed = results.filter((result) => result.passed).length;
  return { suites: suites.length, passed, failed: results.length - passed, results };
}

/** kyverno test-like: one row per case, the reason of each failure, then the counts. */
export function renderTestTable(report: TestReport): string {
  const rows = report.results.map((result) => [result.suite, result.case, result.passed ? 'PASS' : 'FAIL', result.failures.join('; ')]);
  return `${renderTable(['SUITE', 'CASE', 'RESULT', 'REASON'], rows)}\n\n${report.passed} passed, ${report.failed} failed\n`;
}

export async function runTest(argv: string[]): Promise<number> {
  const options = parseTestOptions(argv);
  if (options === 'help') {
    process.stdout.write(`${usageAs(TEST_USAGE)}\n`);
    return EXIT.ok;
  }
  const loaded = await loadSuites(options.paths);
  if ('errors' in loaded) {
    for (const error of loaded.errors) process.stderr.write(`eviction-guard test: ${error}\n`);
    return EXIT.usage;
  }
  const report = await runTests(loaded.suites);
  process.stdout.write(options.output === 'table' ? renderTestTable(report) : renderData(report, options.output));
  return report.failed === 0 ? EXIT.ok : EXIT.problem;
}
