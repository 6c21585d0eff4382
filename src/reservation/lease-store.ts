// Reservation records as Leases in the webhook's namespace, read and written with the kubeconfig's
// credentials. A write carries the resourceVersion it read (PUT) or creates the Lease (POST), so
// the API server answers 409 when another replica wrote first, exactly as eviction.go's update of
// a PDB's disruptedPods does. Calls go through their own keep-alive agent: a slow Event write can
// never hold the sockets an eviction's reservation waits for.
import type { KubeConfig } from '@kubernetes/client-node';
import { KeepAliveAgents } from '../cluster/agents';
import { exchange, statusProblem } from '../cluster/api';
import type { ClusterLogger } from '../cluster/view';
import { describeError } from '../cluster/errors';
import { leaseFor, leaseName, RESERVATION_LABEL_SELECTOR, recordFromLease, scopeOfLease } from './lease';
import { isDisposable, scopeLabel, type Reservation, type ReservationRecord, type ScopeRef } from './record';
import { ReservationStoreError, type ReservationReader, type ReservationStore } from './store';

export interface LeaseReaderOptions {
  kubeConfig: KubeConfig;
  namespace: string;
  logger: ClusterLogger;
}

export interface LeaseStoreOptions extends LeaseReaderOptions {
  /** holderIdentity of the Leases written and `by` of the reservations: the replica's pod name. */
  holder: string;
  ttlMs: number;
}

interface Reply {
  status: number;
  text: string;
}

/** The webhook's reservation Leases, listed and never written: what `check` reads (least privilege: list only). */
export class LeaseReservationReader implements ReservationReader {
  readonly description: string;
  private readonly agents = new KeepAliveAgents(8);
  /** Ends calls in flight when the webhook stops. */
  private readonly stopping = new AbortController();

  constructor(protected readonly options: LeaseReaderOptions) {
    this.description = `Leases in namespace ${options.namespace}`;
  }

  protected collection(): string {
    return `/apis/coordination.k8s.io/v1/namespaces/${encodeURIComponent(this.options.namespace)}/leases`;
  }

  protected item(scope: ScopeRef): string {
    return `${this.collection()}/${leaseName(scope)}`;
  }

  protected async call(method: string, path: string, deadline: number, body?: unknown): Promise<Reply> {
    const timeoutMs = deadline - Date.now();
    if (timeoutMs <= 0) throw new ReservationStoreError(`${method} ${path}: no time left within the reservation's deadline`);
    try {
      return await exchange(this.options.kubeConfig, {
        method,
        path,
        body: body === undefined ? undefined : JSON.stringify(body),
        timeoutMs,
        signal: this.stopping.signal,
        agents: this.agents,
      });
    } catch (error) {
      throw new ReservationStoreError(`${method} ${path}: ${describeError(error)}`);
    }
  }

  protected failure(method: string, path: string, reply: Reply): ReservationStoreError {
    return new ReservationStoreError(`${method} ${path}: ${statusProblem(reply.status, reply.text).problem}`);
  }

  protected parse(method: string, path: string, reply: Reply): unknown {
    try {
      return JSON.parse(reply.text);
    } catch (error) {
      throw new ReservationStoreError(`${method} ${path}: invalid JSON in the response: ${describeError(error)}`);
    }
  }

  protected toRecord(scope: ScopeRef, lease: unknown): ReservationRecord {
    const { record, problem } = recordFromLease(scope, lease);
    if (problem !== undefined) {
      this.options.logger.warn({ lease: leaseName(scope), scope: scopeLabel(scope), problem }, 'a reservation Lease holds entries that cannot be read; they are dropped');
    }
    return record;
  }

  /** Every reservation Lease of the namespace (by the labels every one carries), one LIST. Leases that name no scope are not ours and are left out. */
  async list(deadline: number): Promise<ReservationRecord[]> {
    const path = `${this.collection()}?labelSelector=${encodeURIComponent(RESERVATION_LABEL_SELECTOR)}`;
    const reply = await this.call('GET', path, deadline);
    if (reply.status !== 200) throw this.failure('GET', path, reply);
    const list = this.parse('GET', path, reply) as { items?: unknown };
    return (Array.isArray(list.items) ? list.items : []).flatMap((lease: unknown) => {
      const scope = scopeOfLease(lease);
      return scope === undefined ? [] : [this.toRecord(scope, lease)];
    });
  }

  close(): void {
    this.stopping.abort();
    this.agents.release(this.options.kubeConfig);
  }
}

/** The webhook's records: read, written on a resourceVersion, and swept. */
export class LeaseReservationStore extends LeaseReservationReader implements ReservationStore {
  constructor(protected override readonly options: LeaseStoreOptions) {
    super(options);
  }

  async read(scope: ScopeRef, deadline: number): Promise<ReservationRecord> {
    const path = this.item(scope);
    const reply = await this.call('GET', path, deadline);
    if (reply.status === 404) return { scope, entries: [] };
    if (reply.status !== 200) throw this.failure('GET', path, reply);
    return this.toRecord(scope, this.parse('GET', path, reply));
  }

  async write(record: ReservationRecord, entries: readonly Reservation[], deadline: number): Promise<ReservationRecord | 'conflict'> {
    const { namespace, holder, ttlMs } = this.options;
    const lease = leaseFor({ record, entries, namespace, holder, ttlMs, now: Date.now() });
    const creating = record.version === undefined;
    const [method, path] = creating ? ['POST', this.collection()] : ['PUT', this.item(record.scope)];
    const reply = await this.call(method, path, deadline, lease);
    // 409: AlreadyExists on create, Conflict on a stale resourceVersion. 404 on update: the cleanup
    // deleted the Lease since it was read; reading again finds none, and the next write creates it.
    if (reply.status === 409 || (!creating && reply.status === 404)) return 'conflict';
    if (reply.status !== 200 && reply.status !== 201) throw this.failure(method, path, reply);
    return this.toRecord(record.scope, this.parse(method, path, reply));
  }

  /**
   * Deletes this webhook's Leases in which every reservation has expired, each on the condition
   * that it was not written since it was listed. Without it, a Lease would stay behind for every
   * node and workload that was ever drained.
   */
  async sweep(now: number, deadline: number): Promise<number> {
    let deleted = 0;
    for (const record of await this.list(deadline)) {
      if (record.version === undefined || !isDisposable(record, now)) continue;
      const path = this.item(record.scope);
      const options = { kind: 'DeleteOptions', apiVersion: 'v1', preconditions: { resourceVersion: record.version } };
      const answer = await this.call('DELETE', path, deadline, options);
      // 404: another replica deleted it; 409: someone reserved in it since it was listed.
      if (answer.status === 200 || answer.status === 202) deleted++;
      else if (answer.status !== 404 && answer.status !== 409) throw this.failure('DELETE', path, answer);
    }
    return deleted;
  }
}
