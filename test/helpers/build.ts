// The package as `npm run build` makes it, built into a private folder for the tests that run the
// real command: under node_modules/.cache, so that the build resolves the repository's
// dependencies as dist/ does, and apart from dist/, so that a concurrent build there cannot
// interfere. The folder is laid out like the package: package.json, dist/ and demo/.
import { spawnSync } from 'node:child_process';
import { copyFileSync, cpSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import path from 'node:path';

const REPO = path.resolve(__dirname, '../..');

export interface BuiltPackage {
  root: string;
  /** dist/cli/main.js: the `eviction-guard` (and `kubectl-eviction_guard`) bin. */
  cli: string;
  remove(): void;
}

/** Throws with tsc's output when the build fails. */
export function buildPackage(prefix: string): BuiltPackage {
  const cache = path.join(REPO, 'node_modules', '.cache');
  mkdirSync(cache, { recursive: true });
  const root = mkdtempSync(path.join(cache, prefix));
  const remove = () => rmSync(root, { recursive: true, force: true });
  const tsc = spawnSync(process.execPath, [require.resolve('typescript/bin/tsc'), '-p', 'tsconfig.build.json', '--outDir', path.join(root, 'dist')], { cwd: REPO, encoding: 'utf8' });
  if (tsc.status !== 0) {
    remove();
    throw new Error(`the build failed:\n${tsc.stdout}${tsc.stderr}`);
  }
  copyFileSync(path.join(REPO, 'package.json'), path.join(root, 'package.json'));
  cpSync(path.join(REPO, 'demo'), path.join(root, 'demo'), { recursive: true });
  return { root, cli: path.join(root, 'dist', 'cli', 'main.js'), remove };
}
