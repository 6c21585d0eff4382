// Child process of `npm run bench`: a fake API server holding the synthetic cluster. Prints one
// JSON line {url, kubeconfig, pods, pdbs, loadMs} once loaded. Usage: node fake-cluster.js DIR [empty]
// (empty: no cluster, for the reservations bench, which only writes Leases).
import { FakeApiServer } from '../test/fake-apiserver';
import { BENCH_OPERATOR_TOKEN } from './pdb-health';
import { syntheticCluster } from './synthetic-cluster';

async function main(): Promise<void> {
  const dir = process.argv[2];
  const started = Date.now();
  const fake = await FakeApiServer.start();
  if (process.argv[3] !== 'empty') fake.bulkLoad(syntheticCluster());
  fake.auth.addToken(BENCH_OPERATOR_TOKEN, { username: 'bench-operator' });
  fake.auth.grant({ user: 'bench-operator' }, ['/pdb-findings']);
  const kubeconfig = fake.writeKubeconfig(dir);
  process.stdout.write(`${JSON.stringify({ url: fake.url, kubeconfig, pods: fake.count('Pod'), pdbs: fake.count('PodDisruptionBudget'), loadMs: Date.now() - started })}\n`);
  process.on('SIGTERM', () => void fake.close().then(() => process.exit(0)));
}

main().catch((error: unknown) => {
  process.stderr.write(`fake cluster failed: ${String(error)}\n`);
  process.exit(1);
});
