// The shape shared by the operator commands (check, lint): parse, build a report from the cluster
// or files, print it as a table or as data, and exit with a code the report decides.
import { describeError } from '../cluster/errors';
import type { LogLevel, Logger } from '../audit/logger';
import { cliLogger } from './cluster';
import { renderData, type OutputFormat } from './render';
import { usageAs } from './program';
import { EXIT } from './usage';

export interface ReportCommand<Options extends { output: OutputFormat; logLevel: LogLevel }, Report> {
  name: string;
  usage: string;
  parse(argv: string[]): Options | 'help';
  /** Throws when the cluster, snapshot or files cannot be read. */
  build(options: Options, logger: Logger): Promise<Report>;
  table(report: Report): string;
  exitCode(report: Report): number;
}

export async function runReportCommand<Options extends { output: OutputFormat; logLevel: LogLevel }, Report>(
  command: ReportCommand<Options, Report>,
  argv: string[],
): Promise<number> {
  const options = command.parse(argv);
  if (options === 'help') {
    process.stdout.write(`${usageAs(command.usage)}\n`);
    return EXIT.ok;
  }
  let report: Report;
  try {
    report = await command.build(options, cliLogger(options.logLevel, command.name));
  } catch (error) {
    process.stderr.write(`eviction-guard ${command.name}: ${describeError(error)}\n`);
    return EXIT.unreadable;
  }
  process.stdout.write(options.output === 'table' ? command.table(report) : renderData(report, options.output));
  return command.exitCode(report);
}
