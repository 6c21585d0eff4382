#!/usr/bin/env node
import { runCerts } from './certs';
import { runCheck } from './check';
import { runLint } from './lint';
import { usageAs } from './program';
import { runServe } from './serve';
import { runTest } from './test';
import { UsageError } from './usage';

const USAGE = `Usage: eviction-guard <command> [flags]

Commands:
  serve    Run the validating admission webhook for pods/eviction over HTTPS.
  certs    Make a private CA and the webhook Service's serving certificate (and patch caBundle).
  check    Drain preflight: would draining this node (namespace, pods) complete, and if not, why?
  lint     Find PDBs that fail evictions or hang drains, in a cluster, a snapshot or manifest files.
  test     Run policy test suites: expected answers for evictions, decided as the webhook decides them.

Run "eviction-guard <command> --help" for a command's flags.`;

async function main(argv: string[]): Promise<number> {
  const [command, ...rest] = argv;
  switch (command) {
    case 'serve':
      return runServe(rest);
    case 'certs':
      return runCerts(rest);
    case 'check':
      return runCheck(rest);
    case 'lint':
      return runLint(rest);
    case 'test':
      return runTest(rest);
    case undefined:
    case '-h':
    case '--help':
    case 'help':
      process.stdout.write(`${usageAs(USAGE)}\n`);
      return command === undefined ? 2 : 0;
    default:
      throw new UsageError(`unknown command "${command}"`, USAGE);
  }
}

main(process.argv.slice(2)).then(
  (exitCode) => {
    process.exitCode = exitCode;
  },
  (error: unknown) => {
    if (error instanceof UsageError) {
      process.stderr.write(`eviction-guard: ${error.message}\n\n${usageAs(error.usage)}\n`);
      process.exitCode = 2;
      return;
    }
    process.stderr.write(`eviction-guard: ${error instanceof Error ? error.message : String(error)}\n`);
    process.exitCode = 1;
  },
);
