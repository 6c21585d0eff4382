// The reservations `serve` wires up: Leases in the webhook's namespace on a live cluster, memory
// otherwise, and the periodic cleanup of Leases in which every reservation expired.
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { createLogger } from '../../src/audit/logger';
import { startReservations, type Reservations } from '../../src/cli/reservations';
import { resolveKubeConfig } from '../../src/cluster/kubeconfig';
import { LiveClusterView } from '../../src/cluster/live';
import { demoClusterView } from '../../src/cluster/snapshot';
import { FakeApiServer } from '../fake-apiserver';
import { waitFor } from '../e2e/harness';
import { podFacts } from '../helpers/facts';

const logger = createLogger('silent');
let fake: FakeApiServer;
let dir: string;
let reservations: Reservations | undefined;

beforeEach(async () => {
  fake = await FakeApiServer.start();
  dir = mkdtempSync(path.join(os.tmpdir(), 'cli-reservations-'));
});
afterEach(async () => {
  reservations?.close();
  reservations = undefined;
  await fake.close();
  rmSync(dir, { recursive: true, force: true });
});

describe('startReservations()', () => {
  it('keeps records in memory without a cluster', () => {
    reservations = startReservations({}, demoClusterView(), logger);
    expect(reservations.description).toBe('memory');
  });

  it('writes Leases in the webhook namespace of a live cluster, and deletes them once their reservations expired', async () => {
    const view = new LiveClusterView(resolveKubeConfig(fake.writeKubeconfig(dir))!);
    reservations = startReservations({ reservationTtlMs: 300, reservationNamespace: 'guards' }, view, logger);
    expect(reservations.description).toBe('Leases in namespace guards');
    const scope = { scope: 'node' as const, key: 'node-a' };
    const pod = podFacts('web-1');
    const { outcome } = await reservations.reserver.reserve({
      pod,
      claims: [scope],
      peers: () => [pod],
      decide: (view) => ({ allowed: true, claims: view.holds(scope, pod) ? [] : [scope] }),
      write: true,
      dryRun: false,
      deadline: Date.now() + 2000,
    });
    expect(outcome.result).toBe('reserved');
    expect(fake.leases.list('guards')).toHaveLength(1);
    await waitFor('the cleanup', () => fake.leases.list('guards').length === 0, 5000);
    expect(fake.leases.answered(200, 'DELETE')).toHaveLength(1);
  });
});
