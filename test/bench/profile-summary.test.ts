// The profiler's frames come from the esbuild bundle; the summary must still say which of our
// files, or which dependency, each came from.
import { buildSync } from 'esbuild';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { areaOf, isOwnFrame, unbundleFrames } from '../../bench/profile-summary';

let root: string;
let bundle: string;

beforeAll(() => {
  root = mkdtempSync(path.join(os.tmpdir(), 'eviction-guard-unbundle-'));
  mkdirSync(path.join(root, 'src/server'), { recursive: true });
  mkdirSync(path.join(root, 'node_modules/router'), { recursive: true });
  writeFileSync(path.join(root, 'node_modules/router/index.js'), 'exports.route = function route(x) {\n  return x * 3 + 1;\n};\n');
  writeFileSync(path.join(root, 'src/server/app.ts'), "import { route } from 'router';\n\nexport function handleValidate(n: number): number {\n  return route(n) * 7;\n}\n");
  writeFileSync(path.join(root, 'src/main.ts'), "import { handleValidate } from './server/app';\nconsole.log(handleValidate(2));\n");
  bundle = path.join(root, 'dist/cli/main.js');
  buildSync({ entryPoints: [path.join(root, 'src/main.ts')], bundle: true, platform: 'node', minifyWhitespace: true, sourcemap: true, outfile: bundle, logLevel: 'silent' });
});

afterAll(() => rmSync(root, { recursive: true, force: true }));

/** The frame V8 would report for the code at `needle` in the bundle (0-based line and column). */
function frameAt(needle: string, functionName: string) {
  const lines = readFileSync(bundle, 'utf8').split('\n');
  const lineNumber = lines.findIndex((line) => line.includes(needle));
  return { functionName, url: pathToFileURL(bundle).href, lineNumber, columnNumber: lines[lineNumber].indexOf(needle) };
}

describe('unbundleFrames', () => {
  it('points a bundle frame at the file and line of src/ or node_modules/ it came from', () => {
    const ours = frameAt('*7', 'handleValidate');
    const dependency = frameAt('*3+1', 'route');
    const native = { functionName: '(garbage collector)', url: '', lineNumber: -1, columnNumber: -1 };
    expect(areaOf(ours)).toBe(pathToFileURL(bundle).href);

    unbundleFrames([ours, dependency, native], bundle);

    expect(ours).toMatchObject({ url: pathToFileURL(path.join(root, 'src/server/app.ts')).href, lineNumber: 3 });
    expect(dependency).toMatchObject({ url: pathToFileURL(path.join(root, 'node_modules/router/index.js')).href, lineNumber: 1 });
    expect(native.url).toBe('');
    expect([areaOf(ours), areaOf(dependency), areaOf(native)]).toEqual(['server/app', 'router', '(garbage collector)']);
    expect([isOwnFrame(ours), isOwnFrame(dependency)]).toEqual([true, false]);
  });
});
