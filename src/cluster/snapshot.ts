import { readFileSync } from 'node:fs';
import path from 'node:path';
import { parseAllDocuments } from 'yaml';
import type { EvictionFacts } from '../domain';
import { evictionContext } from './context';
import { inventoryOf, type ClusterInventory } from './inventory';
import { ClusterIndex, NamespacedStore } from './index';
import { Interner } from './intern';
import { trimNamespace, trimNode, trimPdb, trimPod, trimWorkload, type NamespaceFacts, type NodeFacts, type Trimmed, type WorkloadFacts } from './trim';
import type { ClusterLogger, ClusterStatus, ClusterView, ResourceSyncState } from './view';
import { describeError } from './errors';

/** The built-in demo cluster; the same relative path works from src/cluster and dist/cluster. */
export const DEMO_SNAPSHOT_FILE = path.join(__dirname, '../../demo/cluster.yaml');

export type SnapshotMode = 'snapshot' | 'demo';

export interface SnapshotOptions {
  logger?: ClusterLogger;
}

/** A snapshot file that cannot be read or used; the message names the file and the place. */
export class SnapshotError extends Error {
  override readonly name = 'SnapshotError';

  constructor(
    readonly file: string,
    readonly problem: string,
  ) {
    super(`snapshot ${file}: ${problem}`);
  }
}

const WORKLOAD_KINDS = ['ReplicaSet', 'Deployment', 'StatefulSet'] as const;
type WorkloadKind = (typeof WORKLOAD_KINDS)[number];
const PDB_VERSIONS = new Set([undefined, 'policy/v1', 'policy/v1beta1']);

type Json = Record<string, unknown>;

function isWorkloadKind(kind: string): kind is WorkloadKind {
  return (WORKLOAD_KINDS as readonly string[]).includes(kind);
}

/** The documents of a file: JSON as one document (fast for big `-o json` dumps), else YAML documents. */
function parseDocuments(text: string, file: string): unknown[] {
  if (/^\s*[[{]/.test(text)) {
    try {
      return [JSON.parse(text)];
    } catch {
      // Not JSON after all (YAML flow style, or broken): the YAML parser gives a positioned error.
    }
  }
  return parseAllDocuments(text).map((document, index) => {
    const [error] = document.errors;
    if (error !== undefined) throw new SnapshotError(file, `document ${index + 1}: ${error.message}`);
    return document.toJS() as unknown;
  });
}

/** Everything a snapshot holds, trimmed. */
class SnapshotContents {
  readonly index = new ClusterIndex();
  readonly workloads = new Map<WorkloadKind, NamespacedStore<WorkloadFacts>>(WORKLOAD_KINDS.map((kind) => [kind, new NamespacedStore()]));
  readonly namespaces = new Map<string, NamespaceFacts>();
  readonly nodes = new Map<string, NodeFacts>();
  readonly ignoredKinds = new Map<string, number>();
  private readonly interner = new Interner();

  /** The file add() reads from, named in errors. */
  file = '';

  add(value: unknown, where: string): void {
    if (value === null || value === undefined) return;
    if (Array.isArray(value)) {
      value.forEach((item, index) => this.add(item, `${where}, item ${index + 1}`));
      return;
    }
    if (typeof value !== 'object') throw new SnapshotError(this.file, `${where}: expected a Kubernetes object, found ${typeof value}`);
    const object = value as Json;
    const kind = object.kind;
    if (typeof kind !== 'string' || kind === '') throw new SnapshotError(this.file, `${where}: the object has no kind`);

    if (kind.endsWith('List') && Array.isArray(object.items)) {
      // `kind: List` items carry their own kind; typed lists (PodList) may leave it out.
      const itemKind = kind === 'List' ? undefined : kind.slice(0, -'List'.length);
      object.items.forEach((item, index) => {
        const withKind = itemKind !== undefined && typeof item === 'object' && item !== null && !('kind' in item) ? { kind: itemKind, ...item } : item;
        this.add(withKind, `${where}, item ${index + 1}`);
      });
    } else if (kind === 'Pod') {
      this.index.pods.set(this.trimmed(trimPod(object, this.interner), where));
    } else if (kind === 'PodDisruptionBudget' && PDB_VERSIONS.has(object.apiVersion as string | undefined)) {
      this.index.pdbs.set(this.trimmed(trimPdb(object, this.interner), where));
    } else if (isWorkloadKind(kind)) {
      this.workloads.get(kind)!.set(this.trimmed(trimWorkload(kind, object, this.interner), where));
    } else if (kind === 'Namespace') {
      const namespace = this.trimmed(trimNamespace(object, this.interner), where);
      this.namespaces.set(namespace.name, namespace);
    } else if (kind === 'Node') {
      const node = this.trimmed(trimNode(object, this.interner), where);
      this.nodes.set(node.name, node);
    } else {
      const label = typeof object.apiVersion === 'string' ? `${object.apiVersion}/${kind}` : kind;
      this.ignoredKinds.set(label, (this.ignoredKinds.get(label) ?? 0) + 1);
    }
  }

  private trimmed<T>(result: Trimmed<T>, where: string): T {
    if ('error' in result) throw new SnapshotError(this.file, `${where}: ${result.error}`);
    return result.facts;
  }
}

/**
 * Cluster state from a file, such as the output of
 * `kubectl get pods,pdb,rs,deploy,sts,ns,nodes -A -o yaml`: YAML or JSON, several documents and/or
 * `kind: List`. It never changes, so facts() and confirm() give the same answer.
 */
export class SnapshotClusterView implements ClusterView {
  readonly factSource = 'snapshot' as const;

  private readonly indexed: ClusterInventory;

  private constructor(
    private readonly contents: SnapshotContents,
    readonly mode: SnapshotMode,
  ) {
    const { index, workloads, namespaces, nodes } = contents;
    this.indexed = inventoryOf({
      pods: () => index.pods,
      pdbs: () => index.pdbs,
      workloadKinds: WORKLOAD_KINDS,
      workloads: (kind) => workloads.get(kind as WorkloadKind),
      namespace: (name) => namespaces.get(name),
      node: (name) => nodes.get(name),
    });
  }

  /** Loads a snapshot file; throws a SnapshotError naming the file and document when it cannot. */
  static fromFile(file: string, mode: SnapshotMode = 'snapshot', options: SnapshotOptions = {}): SnapshotClusterView {
    return SnapshotClusterView.fromFiles([file], mode, options);
  }

  /** Loads several files into one snapshot, such as the manifests `lint` reads. */
  static fromFiles(files: readonly string[], mode: SnapshotMode = 'snapshot', options: SnapshotOptions = {}): SnapshotClusterView {
    const contents = new SnapshotContents();
    for (const file of files) {
      let text: string;
      try {
        text = readFileSync(file, 'utf8');
      } catch (error) {
        throw new SnapshotError(file, `cannot read the file: ${describeError(error)}`);
      }
      contents.file = file;
      parseDocuments(text, file).forEach((document, index) => contents.add(document, `document ${index + 1}`));
    }
    if (contents.ignoredKinds.size > 0) {
      options.logger?.debug({ files, ignored: Object.fromEntries(contents.ignoredKinds) }, 'snapshot: ignored kinds that decisions do not use');
    }
    return new SnapshotClusterView(contents, mode);
  }

  /**
   * Objects already parsed, such as an `eviction-guard test` suite's inline cluster. `file` names
   * where they came from in errors, each object by `where(index)`. Each object is trimmed as it is
   * taken, so a generator's objects never need to be held all at once.
   */
  static fromObjects(file: string, objects: Iterable<unknown>, where: (index: number) => string, mode: SnapshotMode = 'snapshot'): SnapshotClusterView {
    const contents = new SnapshotContents();
    contents.file = file;
    let index = 0;
    for (const object of objects) contents.add(object, where(index++));
    return new SnapshotClusterView(contents, mode);
  }

  async start(): Promise<void> {}

  isSynced(): boolean {
    return true;
  }

  status(): ClusterStatus {
    const resource = (name: string, count: number): ResourceSyncState => ({ resource: name, synced: true, count, restarts: 0 });
    const { index, workloads, namespaces, nodes } = this.contents;
    return {
      mode: this.mode,
      synced: true,
      resources: [
        resource('pods', index.pods.size),
        resource('poddisruptionbudgets', index.pdbs.size),
        resource('replicasets', workloads.get('ReplicaSet')!.size),
        resource('deployments', workloads.get('Deployment')!.size),
        resource('statefulsets', workloads.get('StatefulSet')!.size),
        resource('namespaces', namespaces.size),
        resource('nodes', nodes.size),
      ],
    };
  }

  async facts(namespace: string, podName: string): Promise<EvictionFacts> {
    const facts = this.contents.index.facts(namespace, podName, 'snapshot');
    return facts.pod === undefined ? facts : { ...facts, context: evictionContext(facts.pod, this.inventory(), facts.pdbs) };
  }

  inventory(): ClusterInventory {
    return this.indexed;
  }

  async confirm(namespace: string, podName: string): Promise<EvictionFacts> {
    return this.facts(namespace, podName);
  }

  /** A ReplicaSet, Deployment or StatefulSet of the snapshot, for owner lookups. */
  workload(kind: string, namespace: string, name: string): WorkloadFacts | undefined {
    return isWorkloadKind(kind) ? this.contents.workloads.get(kind)!.get(namespace, name) : undefined;
  }

  namespace(name: string): NamespaceFacts | undefined {
    return this.contents.namespaces.get(name);
  }

  node(name: string): NodeFacts | undefined {
    return this.contents.nodes.get(name);
  }

  async stop(): Promise<void> {}
}

/** The built-in demo cluster, served when neither a cluster nor a snapshot is configured. */
export function demoClusterView(options: SnapshotOptions = {}): SnapshotClusterView {
  return SnapshotClusterView.fromFile(DEMO_SNAPSHOT_FILE, 'demo', options);
}
