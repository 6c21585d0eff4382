// Summaries of a V8 CPU profile (.cpuprofile, as the inspector's Profiler.stop returns it): where
// the samples were taken, by function (self time) and by area (our code, express, node's http and
// TLS, garbage collection…), and the time under our functions (inclusive); and of a sampling heap
// profile (HeapProfiler.stopSampling): the bytes allocated, by function and by area.
import { originalPositionFor, TraceMap } from '@jridgewell/trace-mapping';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

interface CallFrame {
  functionName: string;
  url: string;
  lineNumber: number;
  columnNumber: number;
}

interface ProfileNode {
  id: number;
  callFrame: CallFrame;
  children?: number[];
}

export interface CpuProfile {
  nodes: ProfileNode[];
  startTime: number;
  endTime: number;
  samples: number[];
  timeDeltas: number[];
}

export interface TimeShare {
  name: string;
  ms: number;
  /** Of the busy time (everything but idle). */
  share: number;
}

export interface ProfileSummary {
  wallMs: number;
  busyMs: number;
  bySelf: TimeShare[];
  byArea: TimeShare[];
}

/** `src/server/app.ts` → `server/app`, `node_modules/express/lib/router.js` → `express`, `node:_http_server` → `node:_http_server`. */
export function areaOf(frame: CallFrame): string {
  const { url, functionName } = frame;
  if (url === '') return functionName.startsWith('(') ? functionName : '(native)';
  if (url.startsWith('node:')) return url;
  const modules = url.lastIndexOf('/node_modules/');
  if (modules >= 0) {
    const parts = url.slice(modules + '/node_modules/'.length).split('/');
    return parts[0].startsWith('@') ? `${parts[0]}/${parts[1]}` : parts[0];
  }
  const own = OWN_SOURCE.exec(url);
  return own ? (own[1] ?? own[2]) : url;
}

/** Our TypeScript (as the bundle's source map names it), or tsc's output of it under .bench/. */
const OWN_SOURCE = /\/src\/(.+)\.ts$|\/\.bench\/src\/(.+)\.js$/;

/** A frame of our own code, not a dependency's. */
export function isOwnFrame(frame: CallFrame): boolean {
  return !frame.url.includes('/node_modules/') && OWN_SOURCE.test(frame.url) && frame.functionName !== '';
}

/**
 * Frames in the esbuild bundle (dist/cli/main.js) all point at that one file; its source map says
 * which file of src/ or node_modules/ each came from, and at which line. Rewrites them in place.
 */
export function unbundleFrames(frames: Iterable<CallFrame>, bundleFile: string): void {
  const map = new TraceMap(readFileSync(`${bundleFile}.map`, 'utf8'));
  const bundleUrl = pathToFileURL(bundleFile).href;
  for (const frame of frames) {
    if (frame.url !== bundleUrl && frame.url !== bundleFile) continue;
    const original = originalPositionFor(map, { line: frame.lineNumber + 1, column: frame.columnNumber });
    if (original.source === null || original.line === null) continue;
    const source = original.source.startsWith('file:') ? fileURLToPath(original.source) : path.resolve(path.dirname(bundleFile), original.source);
    frame.url = pathToFileURL(source).href;
    frame.lineNumber = original.line - 1;
  }
}

/** Every call frame of a CPU profile or of a sampling heap profile. */
export function framesOf(profile: CpuProfile | AllocationProfile): CallFrame[] {
  if ('nodes' in profile) return profile.nodes.map((node) => node.callFrame);
  const frames: CallFrame[] = [];
  const visit = (node: AllocationNode) => {
    frames.push(node.callFrame);
    for (const child of node.children) visit(child);
  };
  visit(profile.head);
  return frames;
}

function frameName(frame: CallFrame): string {
  const where = frame.url === '' ? '' : ` ${areaOf(frame)}:${frame.lineNumber + 1}`;
  return `${frame.functionName || '(anonymous)'}${where}`;
}

function ranked(times: Map<string, number>, busyMs: number, top: number): TimeShare[] {
  return [...times.entries()]
    .sort((a, b) => b[1] - a[1])
    .slice(0, top)
    .map(([name, ms]) => ({ name, ms, share: busyMs > 0 ? ms / busyMs : 0 }));
}

/** Self time by function and by area; idle time is left out of the busy time the shares are of. */
export function summarizeProfile(profile: CpuProfile, top = 40): ProfileSummary {
  const byId = new Map(profile.nodes.map((node) => [node.id, node]));
  const selfMs = new Map<number, number>();
  for (let index = 0; index < profile.samples.length; index++) {
    // timeDeltas[i] is the time before sample i; the sample stands for the interval after the previous one.
    const ms = (profile.timeDeltas[index] ?? 0) / 1000;
    selfMs.set(profile.samples[index], (selfMs.get(profile.samples[index]) ?? 0) + ms);
  }
  const bySelf = new Map<string, number>();
  const byArea = new Map<string, number>();
  let busyMs = 0;
  for (const [id, ms] of selfMs) {
    const frame = byId.get(id)!.callFrame;
    if (frame.functionName === '(idle)') continue;
    busyMs += ms;
    const name = frameName(frame);
    bySelf.set(name, (bySelf.get(name) ?? 0) + ms);
    const area = areaOf(frame);
    byArea.set(area, (byArea.get(area) ?? 0) + ms);
  }
  return { wallMs: (profile.endTime - profile.startTime) / 1000, busyMs, bySelf: ranked(bySelf, busyMs, top), byArea: ranked(byArea, busyMs, top) };
}

/**
 * Time spent inside each function whose name passes `select`, callees included, counting a sample
 * once however deep the function recurses.
 */
export function inclusiveTimes(profile: CpuProfile, select: (frame: CallFrame) => boolean): Map<string, number> {
  const parent = new Map<number, number>();
  for (const node of profile.nodes) for (const child of node.children ?? []) parent.set(child, node.id);
  const byId = new Map(profile.nodes.map((node) => [node.id, node]));
  const times = new Map<string, number>();
  for (let index = 0; index < profile.samples.length; index++) {
    const ms = (profile.timeDeltas[index] ?? 0) / 1000;
    const seen = new Set<string>();
    for (let id: number | undefined = profile.samples[index]; id !== undefined; id = parent.get(id)) {
      const frame = byId.get(id)!.callFrame;
      if (!select(frame)) continue;
      const name = frameName(frame);
      if (seen.has(name)) continue;
      seen.add(name);
      times.set(name, (times.get(name) ?? 0) + ms);
    }
  }
  return times;
}

interface AllocationNode {
  callFrame: CallFrame;
  selfSize: number;
  children: AllocationNode[];
}

export interface AllocationProfile {
  head: AllocationNode;
}

export interface AllocationSummary {
  totalBytes: number;
  bySelf: TimeShare[];
  byArea: TimeShare[];
}

/** Bytes allocated by function and by area; `ms` of each share holds bytes here. */
export function summarizeAllocations(profile: AllocationProfile, top = 30): AllocationSummary {
  const bySelf = new Map<string, number>();
  const byArea = new Map<string, number>();
  let totalBytes = 0;
  const visit = (node: AllocationNode) => {
    if (node.selfSize > 0) {
      totalBytes += node.selfSize;
      const name = frameName(node.callFrame);
      bySelf.set(name, (bySelf.get(name) ?? 0) + node.selfSize);
      const area = areaOf(node.callFrame);
      byArea.set(area, (byArea.get(area) ?? 0) + node.selfSize);
    }
    for (const child of node.children) visit(child);
  };
  visit(profile.head);
  return { totalBytes, bySelf: ranked(bySelf, totalBytes, top), byArea: ranked(byArea, totalBytes, top) };
}

export function formatAllocations(title: string, shares: readonly TimeShare[], requests: number): string {
  const lines = shares.map((entry) => `  ${(entry.share * 100).toFixed(1).padStart(5)} %  ${(entry.ms / requests).toFixed(0).padStart(7)} B/req  ${entry.name}`);
  return `${title}\n${lines.join('\n')}`;
}

export function formatShares(title: string, shares: readonly TimeShare[], perRequestDivisor?: number): string {
  const lines = shares.map((entry) => {
    const perRequest = perRequestDivisor ? `  ${((entry.ms * 1000) / perRequestDivisor).toFixed(1).padStart(7)} µs/req` : '';
    return `  ${(entry.share * 100).toFixed(1).padStart(5)} %  ${entry.ms.toFixed(0).padStart(7)} ms${perRequest}  ${entry.name}`;
  });
  return `${title}\n${lines.join('\n')}`;
}
