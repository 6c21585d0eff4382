// The last decisions, in memory, for GET /audit/recent: a fixed-size ring, so memory stays flat
// however many evictions a drain makes.
import type { Request, RequestHandler, Response } from 'express';
import type { AuditEntry } from './trail';

export const DEFAULT_RECENT_CAPACITY = 1000;
/** A ring of 100k ~1 KB entries is ~100 MB: more belongs in the audit file, not in memory. */
export const MAX_RECENT_CAPACITY = 100_000;
export const DEFAULT_RECENT_LIMIT = 50;

export class RecentDecisions {
  private readonly ring: (AuditEntry | undefined)[];
  private next = 0;
  private size = 0;

  constructor(readonly capacity = DEFAULT_RECENT_CAPACITY) {
    if (!Number.isInteger(capacity) || capacity < 1) throw new RangeError(`the ring of recent decisions needs a capacity of at least 1, got ${capacity}`);
    this.ring = new Array<AuditEntry | undefined>(capacity);
  }

  add(entry: AuditEntry): void {
    this.ring[this.next] = entry;
    this.next = (this.next + 1) % this.capacity;
    if (this.size < this.capacity) this.size++;
  }

  get count(): number {
    return this.size;
  }

  /** The last `limit` entries, oldest first: the same order as the audit file, so this matches its `tail -n`. */
  latest(limit: number): AuditEntry[] {
    const take = Math.min(limit, this.size);
    const entries: AuditEntry[] = [];
    for (let offset = take; offset > 0; offset--) {
      entries.push(this.ring[(this.next - offset + this.capacity) % this.capacity]!);
    }
    return entries;
  }
}

/** GET /audit/recent?limit=N: 1 ≤ N ≤ capacity, default 50 (or the capacity when smaller). */
export function recentDecisionsHandler(recent: RecentDecisions): RequestHandler {
  const fallback = Math.min(DEFAULT_RECENT_LIMIT, recent.capacity);
  return (req: Request, res: Response) => {
    const raw = req.query.limit;
    let limit = fallback;
    if (raw !== undefined) {
      const text = typeof raw === 'string' ? raw : JSON.stringify(raw);
      limit = /^[0-9]+$/.test(text) ? Number(text) : NaN;
      if (!(limit >= 1 && limit <= recent.capacity)) {
        res.status(400).json({ error: `limit must be an integer from 1 to ${recent.capacity} (the size of the ring, --audit-recent), got ${JSON.stringify(text)}` });
        return;
      }
    }
    // Usernames and groups are in here: never cached by anything between us and the caller.
    res.set('Cache-Control', 'no-store');
    res.json({ capacity: recent.capacity, count: recent.count, items: recent.latest(limit) });
  };
}
