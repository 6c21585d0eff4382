// The package as `npm run build` makes it (the esbuild bundle dist/cli/main.js), built into a
// private folder for the tests that run the real command: apart from dist/, so that a concurrent
// build there cannot interfere, and outside the repository, so that nothing it runs can resolve a
// package from the repository's node_modules. The folder is laid out like the package:
// package.json, dist/ and demo/.
import { spawnSync } from 'node:child_process';
import { copyFileSync, cpSync, mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';

const REPO = path.resolve(__dirname, '../..');

export interface BuiltPackage {
  root: string;
  /** dist/cli/main.js: the `eviction-guard` (and `kubectl-eviction_guard`) bin. */
  cli: string;
  remove(): void;
}

/** Throws with esbuild's output when the bundle cannot be made (`npm test` type-checks first). */
export function buildPackage(prefix: string): BuiltPackage {
  const root = mkdtempSync(path.join(os.tmpdir(), prefix));
  const remove = () => rmSync(root, { recursive: true, force: true });
  // `npm run bundle` is the build's own esbuild command; only the output file differs.
  const bundle = spawnSync('npm', ['run', '--silent', 'bundle', '--', `--outfile=${path.join(root, 'dist', 'cli', 'main.js')}`], { cwd: REPO, encoding: 'utf8' });
  if (bundle.status !== 0) {
    remove();
    throw new Error(`the build failed:\n${bundle.stdout}${bundle.stderr}`);
  }
  copyFileSync(path.join(REPO, 'package.json'), path.join(root, 'package.json'));
  cpSync(path.join(REPO, 'demo'), path.join(root, 'demo'), { recursive: true });
  return { root, cli: path.join(root, 'dist', 'cli', 'main.js'), remove };
}
