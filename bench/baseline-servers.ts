// Baselines for `npm run bench`, each run in its own process like the webhook:
//   floor: a bare express 5 app over HTTPS that parses the AdmissionReview and answers a fixed allow;
//   floor-index: the same app, holding the webhook's own index of the bench's synthetic cluster
//     (trimmed as the webhook trims it) and doing nothing with it: what keeping that cluster in the
//     heap costs any express app in garbage collection, apart from any work per request;
//   limit: a bare node https server that drains the body and answers the same fixed bytes.
// Usage: node baseline-servers.js floor|floor-index|limit CERT KEY  (prints the port on stdout once serving)
import express from 'express';
import { readFileSync } from 'node:fs';
import https from 'node:https';

const [kind, certPath, keyPath] = process.argv.slice(2);
const tls = { cert: readFileSync(certPath, 'utf8'), key: readFileSync(keyPath, 'utf8'), minVersion: 'TLSv1.2' as const };
const fixedAllow = (uid: string) =>
  JSON.stringify({ apiVersion: 'admission.k8s.io/v1', kind: 'AdmissionReview', response: { uid, allowed: true } });

let server: https.Server;
/** Never read: exported so that it stays reachable (and in the heap) for the life of the process. */
export let heldIndex: unknown;
if (kind === 'floor' || kind === 'floor-index') {
  if (kind === 'floor-index') {
    // Required here, so that the plain floor loads none of the webhook's code.
    /* eslint-disable @typescript-eslint/no-require-imports */
    const { SnapshotClusterView } = require('../src/cluster/snapshot') as typeof import('../src/cluster/snapshot');
    const { syntheticCluster } = require('./synthetic-cluster') as typeof import('./synthetic-cluster');
    /* eslint-enable @typescript-eslint/no-require-imports */
    heldIndex = SnapshotClusterView.fromObjects('bench cluster', syntheticCluster(), (index) => `object ${index}`);
  }
  const app = express();
  app.post('/validate', express.json({ limit: '3mb', type: () => true }), (req, res) => {
    res.type('application/json').send(fixedAllow(String(req.body?.request?.uid ?? '')));
  });
  server = https.createServer(tls, app);
} else if (kind === 'limit') {
  const body = fixedAllow('fixed');
  server = https.createServer(tls, (req, res) => {
    req.resume();
    req.on('end', () => {
      res.writeHead(200, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) });
      res.end(body);
    });
  });
} else {
  throw new Error(`unknown baseline "${kind}": use floor, floor-index or limit`);
}
server.listen(0, '127.0.0.1', () => {
  const address = server.address();
  process.stdout.write(`${typeof address === 'object' && address ? address.port : 0}\n`);
});
process.on('SIGTERM', () => server.close(() => process.exit(0)));
