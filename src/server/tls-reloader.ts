import { createHash } from 'node:crypto';
import { readFileSync, watch, type FSWatcher } from 'node:fs';
import path from 'node:path';
import type { Logger } from '../audit/logger';
import { inspectClientCa, ServingPairError, type ClientCaBundle, type ServingCertificate } from './serving-pair';

/** Where a checked pair is installed: HttpsServerHandle.setServingPair. */
export interface ServingPairTarget {
  setServingPair(pair: { cert: Buffer; key: Buffer; clientCa?: Buffer }): ServingCertificate;
}

export interface ServingPairWatchOptions {
  certPath: string;
  keyPath: string;
  /** The client CA bundle (--client-ca), watched and reloaded with the pair. */
  clientCaPath?: string;
  target: ServingPairTarget;
  logger: Logger;
  /** The PEM bytes being served now, so that the first look does not reload an unchanged pair. */
  current?: { cert: string | Buffer; key: string | Buffer; clientCa?: string | Buffer };
  /** Fallback poll for when directory events are missed (some volume types send none). Default 10 s. */
  pollIntervalMs?: number;
  /** Quiet time after a directory event before the files are read. Default 200 ms. */
  debounceMs?: number;
  /** A pair that does not parse or match may be half-written: it is read again this much later. Default 1 s. */
  retryDelayMs?: number;
  /** How many reads of a bad pair before it is reported and rejected. Default 5. */
  attempts?: number;
  /** False: poll only, no directory watches. Default true. */
  watchDirectories?: boolean;
}

export type CheckOutcome = 'unchanged' | 'reloaded' | 'retrying' | 'rejected' | 'waiting';

export interface ServingPairWatcher {
  /** Reads the files now and installs the pair if it is new and good. */
  check(): CheckOutcome;
  close(): void;
}

const DEFAULTS = { pollIntervalMs: 10_000, debounceMs: 200, retryDelayMs: 1_000, attempts: 5 };

/**
 * Rotation without restart: watches the directories holding the serving pair (and the client CA,
 * when there is one) and installs a new pair or CA once it has been checked.
 *
 * The directories are watched rather than the files because a Kubernetes Secret volume updates by
 * swapping a `..data` symlink: the files' own inodes never change, so a watch on them sees nothing
 * (and an editor's or writer's rename-over replaces the inode under it). A poll compares the
 * content hash as a fallback. Writers that update cert and key in two steps produce a mismatched,
 * or half-written, pair for a moment; such a pair is read again after retryDelayMs before it is
 * reported. A pair that stays bad is logged as an error and not used: the current one stays.
 */
export function watchServingPair(options: ServingPairWatchOptions): ServingPairWatcher {
  const { certPath, keyPath, clientCaPath, target, logger } = options;
  const settings = { ...DEFAULTS, ...definedOnly(options) };
  const files = { certPath, keyPath, ...(clientCaPath === undefined ? {} : { clientCaPath }) };
  const { current } = options;

  let servedDigest = current ? digestOf(Buffer.from(current.cert), Buffer.from(current.key)) : undefined;
  let servedCaDigest = current?.clientCa === undefined ? undefined : digestOf(Buffer.from(current.clientCa));
  // The last pair reported as bad, so a poll does not report it again; a not-yet-valid one is retried once valid.
  let rejected: { digest: string; retryAt?: number } | undefined;
  let failing: { digest: string; attempts: number } | undefined;
  let timer: NodeJS.Timeout | undefined;
  let closed = false;

  const schedule = (delayMs: number) => {
    if (closed) return;
    clearTimeout(timer);
    timer = setTimeout(() => {
      timer = undefined;
      check();
    }, delayMs);
    timer.unref();
  };

  function check(): CheckOutcome {
    if (closed) return 'unchanged';
    clearTimeout(timer);
    timer = undefined;

    let cert: Buffer;
    let key: Buffer;
    let clientCa: Buffer | undefined;
    let pairDigest: string;
    let caDigest: string | undefined;
    let failure: { problem: string; message: string; transient: boolean; validFrom?: Date } | undefined;
    let installed: ServingCertificate | undefined;
    let clientCaBundle: ClientCaBundle | undefined;
    try {
      cert = readFileSync(certPath);
      key = readFileSync(keyPath);
      clientCa = clientCaPath === undefined ? undefined : readFileSync(clientCaPath);
      pairDigest = digestOf(cert, key);
      caDigest = clientCa === undefined ? undefined : digestOf(clientCa);
    } catch (error) {
      // A file missing or unreadable for a moment (e.g. deleted and written again): try again.
      const code = (error as NodeJS.ErrnoException).code ?? 'error';
      pairDigest = `unreadable:${code}`;
      failure = { problem: 'unreadable', message: `cannot read the ${clientCaPath === undefined ? 'serving pair' : 'serving pair or the client CA'} (${code})`, transient: true };
      cert = key = Buffer.alloc(0);
    }
    const digest = `${pairDigest} ${caDigest ?? ''}`;
    const pairChanged = pairDigest !== servedDigest;
    const caChanged = caDigest !== servedCaDigest;

    if (!pairChanged && !caChanged) {
      failing = undefined;
      return 'unchanged';
    }
    if (rejected?.digest === digest && (rejected.retryAt === undefined || Date.now() < rejected.retryAt)) {
      return rejected.retryAt === undefined ? 'rejected' : 'waiting';
    }

    if (failure === undefined) {
      try {
        if (clientCa !== undefined) clientCaBundle = inspectClientCa(clientCa);
        installed = target.setServingPair({ cert, key, ...(clientCa === undefined ? {} : { clientCa }) });
      } catch (error) {
        failure =
          error instanceof ServingPairError
            ? { problem: error.problem, message: error.message, transient: error.problem === 'unreadable' || error.problem === 'mismatch', validFrom: error.validFrom }
            : { problem: 'rejected', message: error instanceof Error ? error.message : String(error), transient: false };
      }
    }

    if (installed !== undefined) {
      servedDigest = pairDigest;
      servedCaDigest = caDigest;
      rejected = undefined;
      failing = undefined;
      if (pairChanged) logger.info({ ...files, certificate: logged(installed) }, 'serving certificate reloaded: new TLS connections use it');
      if (caChanged && clientCaBundle !== undefined) {
        const certificates = clientCaBundle.certificates.map((ca) => ({ ...ca, notAfter: ca.notAfter.toISOString() }));
        logger.info({ ...files, clientCa: certificates }, 'client CA reloaded: new connections to /validate are verified against it');
      }
      return 'reloaded';
    }

    const failed = failure!;
    const attempts = failing?.digest === digest ? failing.attempts + 1 : 1;
    if (failed.transient && attempts < settings.attempts) {
      failing = { digest, attempts };
      logger.debug({ ...files, problem: failed.problem, attempts }, 'new serving pair not usable yet, reading it again shortly');
      schedule(settings.retryDelayMs);
      return 'retrying';
    }
    failing = undefined;
    if (failed.problem === 'not-yet-valid' && failed.validFrom !== undefined) {
      rejected = { digest, retryAt: failed.validFrom.getTime() };
      logger.warn({ ...files, problem: failed.problem, error: failed.message }, 'new serving pair is not valid yet: keeping the current one until then');
      return 'waiting';
    }
    rejected = { digest };
    logger.error({ ...files, problem: failed.problem, error: failed.message }, 'new serving pair rejected: keeping the current one');
    return 'rejected';
  }

  // Directory watches; one that fails (e.g. its directory was removed) is dropped and retried at the next poll.
  const watchers = new Map<string, FSWatcher>();
  const watched = clientCaPath === undefined ? [certPath, keyPath] : [certPath, keyPath, clientCaPath];
  const directories = [...new Set(watched.map((file) => path.dirname(path.resolve(file))))];
  const startWatches = () => {
    if (options.watchDirectories === false) return;
    for (const directory of directories) {
      if (watchers.has(directory)) continue;
      try {
        const watcher = watch(directory, { persistent: false }, () => schedule(settings.debounceMs));
        watcher.on('error', (error) => {
          logger.warn({ directory, err: error }, 'stopped watching the serving pair directory; polling continues');
          watcher.close();
          watchers.delete(directory);
        });
        watchers.set(directory, watcher);
      } catch (error) {
        logger.warn({ directory, err: error }, 'cannot watch the serving pair directory; polling instead');
      }
    }
  };
  startWatches();
  // The files may have changed between being read for the server and the watches starting.
  schedule(settings.debounceMs);

  const poll = setInterval(() => {
    startWatches();
    // A pending debounce or retry reads the files soon anyway.
    if (timer === undefined) check();
  }, settings.pollIntervalMs);
  poll.unref();

  return {
    check,
    close() {
      closed = true;
      clearTimeout(timer);
      clearInterval(poll);
      for (const watcher of watchers.values()) watcher.close();
      watchers.clear();
    },
  };
}

function digestOf(...contents: Buffer[]): string {
  const hash = createHash('sha256');
  for (const content of contents) hash.update(content).update('\0');
  return hash.digest('hex');
}

function logged(certificate: ServingCertificate) {
  return { ...certificate, notBefore: certificate.notBefore.toISOString(), notAfter: certificate.notAfter.toISOString() };
}

function definedOnly(options: ServingPairWatchOptions): Partial<typeof DEFAULTS> {
  const picked: Partial<typeof DEFAULTS> = {};
  for (const name of Object.keys(DEFAULTS) as (keyof typeof DEFAULTS)[]) {
    if (options[name] !== undefined) picked[name] = options[name];
  }
  return picked;
}
