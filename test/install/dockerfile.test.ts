// The Dockerfile: its shape (multi-stage, numeric non-root user, production dependencies only,
// `serve` as the command), then its build steps run without Docker: each stage gets a temporary
// root, COPY copies from the build context (filtered by .dockerignore) or an earlier stage, and the
// npm steps run for real. The runtime stage then starts as the image would (ENTRYPOINT + CMD) and
// must answer /readyz and an AdmissionReview over HTTPS with the demo cluster.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import https from 'node:https';
import os from 'node:os';
import path from 'node:path';
import { evictionReview } from '../admission/reviews';
import { REPO } from './k8s';

interface Instruction {
  keyword: string;
  args: string;
  line: number;
}
interface Stage {
  name: string;
  from: string;
  instructions: Instruction[];
}

/** Stages and their instructions; comments dropped, continuation lines joined. */
function parseDockerfile(text: string): Stage[] {
  const stages: Stage[] = [];
  const lines = text.split('\n');
  for (let index = 0; index < lines.length; index += 1) {
    const line = index + 1;
    let logical = lines[index];
    if (/^\s*(#|$)/.test(logical)) continue;
    while (logical.endsWith('\\') && index + 1 < lines.length) logical = logical.slice(0, -1) + lines[++index].trim();
    const match = /^\s*([A-Za-z]+)\s+(.*)$/.exec(logical);
    if (!match) throw new Error(`Dockerfile:${line}: cannot parse "${logical}"`);
    const keyword = match[1].toUpperCase();
    const args = match[2].trim();
    if (keyword === 'FROM') {
      const [image, as, name] = args.split(/\s+/);
      stages.push({ name: as?.toUpperCase() === 'AS' ? name : String(stages.length), from: image, instructions: [] });
    } else {
      if (stages.length === 0) throw new Error(`Dockerfile:${line}: ${keyword} before FROM`);
      stages[stages.length - 1].instructions.push({ keyword, args, line });
    }
  }
  return stages;
}

const all = (stage: Stage, keyword: string) => stage.instructions.filter((instruction) => instruction.keyword === keyword);
const jsonArgs = (instruction: Instruction | undefined): unknown => (instruction ? JSON.parse(instruction.args) : undefined);

/** .dockerignore: patterns anchored at the context root, `*`, `?`, `**`, and `!` exceptions; the last match wins. */
function dockerIgnore(text: string): (relative: string) => boolean {
  const rules = text
    .split('\n')
    .map((line) => line.trim())
    .filter((line) => line !== '' && !line.startsWith('#'))
    .map((line) => {
      const negated = line.startsWith('!');
      const pattern = path.posix.normalize(line.replace(/^!/, '').replace(/^\//, ''));
      const source = pattern
        .split('**')
        .map((part) => part.replace(/[.+^${}()|[\]\\]/g, '\\$&').replaceAll('*', '[^/]*').replaceAll('?', '[^/]'))
        .join('.*');
      return { negated, regex: new RegExp(`^${source}$`) };
    });
  return (relative) => {
    const prefixes = relative.split('/').map((_part, index, parts) => parts.slice(0, index + 1).join('/'));
    let ignored = false;
    for (const { negated, regex } of rules) if (prefixes.some((prefix) => regex.test(prefix))) ignored = !negated;
    return ignored;
  };
}

const dockerfile = readFileSync(path.join(REPO, 'Dockerfile'), 'utf8');
const stages = parseDockerfile(dockerfile);
const [build, runtime] = [stages[0], stages[stages.length - 1]];
const isIgnored = dockerIgnore(readFileSync(path.join(REPO, '.dockerignore'), 'utf8'));

describe('the Dockerfile', () => {
  it('builds in one stage and runs from a clean second stage on Node 22 or later', () => {
    expect(stages.map((stage) => stage.name)).toEqual(['build', 'runtime']);
    for (const stage of stages) expect(stage.from).toMatch(/^node:(2[2-9]|[3-9]\d)(\.\d+)*-[a-z]+(-slim)?$/);
  });

  it('installs with npm ci from the lockfile to build, and nothing at run time: the bundle holds its dependencies', () => {
    const runs = (stage: Stage) => all(stage, 'RUN').map((instruction) => instruction.args);
    expect(runs(build)).toEqual(expect.arrayContaining([expect.stringMatching(/^npm ci\b/), 'npm run build']));
    expect(runs(runtime).filter((command) => /\bnpm\b/.test(command))).toEqual([]);
    expect(dockerfile).not.toMatch(/npm install|npm i\b/);
  });

  it('copies only the bundled server and the demo cluster into the runtime stage', () => {
    const copies = all(runtime, 'COPY').map((instruction) => instruction.args);
    expect(copies).toEqual(['--from=build /src/dist ./dist', 'demo ./demo']);
    expect(all(runtime, 'ADD')).toEqual([]);
  });

  it('runs as a numeric non-root user and group', () => {
    const users = all(runtime, 'USER');
    expect(users).toHaveLength(1);
    expect(users[0].args).toMatch(/^[1-9]\d*:[1-9]\d*$/);
    // The user must be the last word: nothing after it may run as root.
    const last = runtime.instructions.findIndex((instruction) => instruction.keyword === 'USER');
    expect(runtime.instructions.slice(last).filter((instruction) => instruction.keyword === 'RUN')).toEqual([]);
  });

  it('starts `serve` from the compiled CLI, on port 8443', () => {
    expect(jsonArgs(all(runtime, 'ENTRYPOINT')[0])).toEqual(['node', 'dist/cli/main.js']);
    expect(jsonArgs(all(runtime, 'CMD')[0])).toEqual(['serve']);
    expect(all(runtime, 'EXPOSE')[0].args.split(/\s+/)).toContain('8443');
  });

  it('checks /healthz with node itself (the image has no curl)', () => {
    const [healthcheck] = all(runtime, 'HEALTHCHECK');
    expect(healthcheck.args).toMatch(/CMD \["node", "-e", ".*\/healthz/);
  });

  it('keeps generated keys, local builds and dependencies out of the build context', () => {
    for (const ignored of ['certs/tls.key', 'certs', 'node_modules/x/index.js', 'dist/cli/main.js', '.git/HEAD', 'coverage/lcov.info', '.bench/x.js', 'bench/results/run.json']) {
      expect([ignored, isIgnored(ignored)]).toEqual([ignored, true]);
    }
    for (const kept of ['src/cli/main.ts', 'demo/cluster.yaml', 'package.json', 'package-lock.json', 'tsconfig.build.json', 'bench/run.ts']) {
      expect([kept, isIgnored(kept)]).toEqual([kept, false]);
    }
  });
});

// ---------------------------------------------------------------------------------------------
// Running the build steps.

/** RUN sub-commands (split on &&) the test leaves out: they are about image layers or ownership. */
const NOT_RUN = [/^chown 10001:10001 certs$/];

function copyFromContext(source: string, target: string): void {
  const absolute = path.join(REPO, source);
  cpSync(absolute, target, {
    recursive: true,
    filter: (file) => !isIgnored(path.relative(REPO, file).split(path.sep).join('/')),
  });
}

/** Runs the stages of the Dockerfile under `root`, one directory per stage; returns the runtime's working directory. */
/**
 * The environment of a clean image build: npm, when it runs jest, exports the repository's .npmrc
 * as npm_config_* variables, which a docker build would not see. Only the cache location stays.
 */
function buildEnvironment(): NodeJS.ProcessEnv {
  return Object.fromEntries(Object.entries(process.env).filter(([name]) => !/^npm_config_/i.test(name) || /^npm_config_cache$/i.test(name)));
}

function buildStages(root: string, log: string[]): string {
  const stageRoots = new Map<string, string>();
  let workdir = '/';
  for (const stage of stages) {
    const stageRoot = path.join(root, stage.name);
    mkdirSync(stageRoot, { recursive: true });
    stageRoots.set(stage.name, stageRoot);
    const env: Record<string, string> = {};
    workdir = '/';
    for (const { keyword, args, line } of stage.instructions) {
      const cwd = path.join(stageRoot, workdir);
      switch (keyword) {
        case 'WORKDIR':
          workdir = path.posix.resolve(workdir, args);
          mkdirSync(path.join(stageRoot, workdir), { recursive: true });
          break;
        case 'ENV': {
          const [name, ...value] = args.split('=');
          env[name] = value.join('=');
          break;
        }
        case 'COPY': {
          const words = args.split(/\s+/);
          const from = words[0].startsWith('--from=') ? words.shift()?.slice('--from='.length) : undefined;
          const destination = words.pop() as string;
          for (const source of words) {
            const target = path.join(destination.endsWith('/') ? path.join(cwd, destination, path.basename(source)) : path.join(cwd, destination));
            if (from) cpSync(path.join(stageRoots.get(from) as string, source), target, { recursive: true });
            else copyFromContext(source, target);
          }
          break;
        }
        case 'RUN':
          for (const command of args.split('&&').map((part) => part.trim())) {
            if (NOT_RUN.some((pattern) => pattern.test(command))) {
              log.push(`Dockerfile:${line}: not run: ${command}`);
              continue;
            }
            if (!/^(npm (ci|run) |mkdir )/.test(command)) throw new Error(`Dockerfile:${line}: the test does not know how to run "${command}"`);
            // The shared npm cache, offline when it can be: CI installs the same lockfile first.
            const result = spawnSync('sh', ['-c', command], {
              cwd,
              encoding: 'utf8',
              env: { ...buildEnvironment(), ...env, npm_config_prefer_offline: 'true', npm_config_update_notifier: 'false' },
            });
            log.push(`Dockerfile:${line}: ${command} -> ${result.status}`);
            if (result.status !== 0) throw new Error(`Dockerfile:${line}: ${command} failed (${result.status}):\n${result.stdout}\n${result.stderr}`);
          }
          break;
        default:
          break; // FROM, USER, EXPOSE, HEALTHCHECK, ENTRYPOINT, CMD: metadata, checked above
      }
    }
  }
  return path.join(stageRoots.get(runtime.name) as string, workdir);
}

function request(port: number, method: 'GET' | 'POST', requestPath: string, body?: unknown): Promise<{ status: number; text: string }> {
  return new Promise((resolve, reject) => {
    const payload = body === undefined ? undefined : JSON.stringify(body);
    const req = https.request(
      { host: '127.0.0.1', port, method, path: requestPath, rejectUnauthorized: false, headers: payload ? { 'content-type': 'application/json', 'content-length': Buffer.byteLength(payload) } : {} },
      (res) => {
        let text = '';
        res.setEncoding('utf8');
        res.on('data', (chunk: string) => (text += chunk));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, text }));
      },
    );
    req.on('error', reject);
    req.end(payload);
  });
}

describe('the Dockerfile build steps, run without Docker', () => {
  let root: string;
  let app: string;
  let server: ChildProcess | undefined;
  let port = 0;
  const output: string[] = [];
  const log: string[] = [];
  let builtFiles: string[] = [];
  let certsAtBuild: string[] = [];

  beforeAll(async () => {
    root = mkdtempSync(path.join(os.tmpdir(), 'eviction-guard-image-'));
    app = buildStages(root, log);
    builtFiles = readdirSync(app).sort();
    certsAtBuild = readdirSync(path.join(app, 'certs'));
    const [command, ...entrypoint] = jsonArgs(all(runtime, 'ENTRYPOINT')[0]) as string[];
    const cmd = jsonArgs(all(runtime, 'CMD')[0]) as string[];
    // As `docker run IMAGE serve --port 0`; no kubeconfig anywhere, so the demo cluster is served.
    const env: NodeJS.ProcessEnv = { ...process.env, HOME: root, KUBECONFIG: path.join(root, 'no-such-kubeconfig'), NODE_ENV: 'production' };
    delete env.KUBERNETES_SERVICE_HOST;
    server = spawn(command, [...entrypoint, ...cmd, '--port', '0', '--metrics-port', '0'], { cwd: app, env, stdio: ['ignore', 'pipe', 'pipe'] });
    port = await new Promise<number>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`the server did not start:\n${output.join('')}`)), 30_000);
      server?.on('exit', (code) => reject(new Error(`the server exited with ${code}:\n${output.join('')}`)));
      const collect = (chunk: Buffer) => {
        output.push(chunk.toString('utf8'));
        for (const line of output.join('').split('\n')) {
          try {
            const entry = JSON.parse(line) as { port?: number };
            if (typeof entry.port === 'number') {
              clearTimeout(timer);
              resolve(entry.port);
            }
          } catch {
            // not a whole JSON line (yet)
          }
        }
      };
      server?.stdout?.on('data', collect);
      server?.stderr?.on('data', collect);
    });
  }, 300_000);

  afterAll(async () => {
    if (server && server.exitCode === null) {
      const exited = new Promise((resolve) => server?.once('exit', resolve));
      server.kill('SIGKILL');
      await exited;
    }
    rmSync(root, { recursive: true, force: true });
  });

  it('leaves out only the steps about layers and ownership', () => {
    expect(log.filter((entry) => entry.includes('not run'))).toEqual([expect.stringContaining('chown 10001:10001 certs')]);
  });

  it('ships the bundle, demo/ and an empty certs/ only: no node_modules to resolve at run time', () => {
    expect(builtFiles).toEqual(['certs', 'demo', 'dist']);
    expect(certsAtBuild).toEqual([]);
    expect(readdirSync(path.join(app, 'dist/cli')).sort()).toEqual(['main.js', 'main.js.LEGAL.txt', 'main.js.map']);
    expect(existsSync(path.join(app, 'demo/cluster.yaml'))).toBe(true);
    // Nothing is loaded from a package: the server ran (beforeAll) with no node_modules above it.
    expect(readFileSync(path.join(app, 'dist/cli/main.js'), 'utf8')).not.toMatch(/require\("(@kubernetes\/client-node|express|pino|node-forge)"\)/);
  });

  it('is ready on /readyz over HTTPS once started', async () => {
    const ready = await request(port, 'GET', '/readyz');
    expect(ready.status).toBe(200);
    expect((await request(port, 'GET', '/healthz')).status).toBe(200);
    expect(output.join('')).toContain('DEMO MODE');
  });

  it('answers an AdmissionReview for a demo pod: denies web (429) and allows api', async () => {
    const review = (namespace: string, name: string) => {
      const body = evictionReview();
      Object.assign(body.request, { uid: `image-${name}`, name, namespace });
      return body;
    };
    const denied = await request(port, 'POST', '/validate', review('shop', 'web-7d9c5b7f6-x2x9k'));
    expect(denied.status).toBe(200);
    const deniedResponse = (JSON.parse(denied.text) as { response: { uid: string; allowed: boolean; status?: { code: number } } }).response;
    expect(deniedResponse).toMatchObject({ uid: 'image-web-7d9c5b7f6-x2x9k', allowed: false, status: { code: 429 } });
    const allowed = await request(port, 'POST', '/validate', review('shop', 'api-6f4b8c9d7-l5j8n'));
    expect((JSON.parse(allowed.text) as { response: { allowed: boolean } }).response.allowed).toBe(true);
  });

  it('passes its HEALTHCHECK (run against the port it listens on)', () => {
    const exec = JSON.parse(all(runtime, 'HEALTHCHECK')[0].args.replace(/^.*?CMD\s+/, '')) as string[];
    const [command, ...rest] = exec.map((arg) => arg.replace('port:8443', `port:${port}`));
    expect(spawnSync(command, rest, { cwd: app, encoding: 'utf8', timeout: 10_000 }).status).toBe(0);
  });

  it('stops cleanly on SIGTERM', async () => {
    const exited = new Promise<number | null>((resolve) => server?.once('exit', (code) => resolve(code)));
    server?.kill('SIGTERM');
    expect(await exited).toBe(0);
  });
});
