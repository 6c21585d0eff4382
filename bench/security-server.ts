// Child processes of the security bench (bench/security.ts), each in its own process like the webhook:
//   fake-api DIR N: a fake API server that knows N reader tokens (bench-token-0 …), each allowed get
//     on the operator routes; prints {"kubeconfig": …} once listening.
//   app MODE CERT KEY [KUBECONFIG | CLIENT_CA]: the webhook's express app (createApp) over the
//     webhook's HTTPS server, with a fixed allow for /validate and 50 audit entries on /audit/recent;
//     MODE open (operator routes admitted without a check), delegated (TokenReview and
//     SubjectAccessReview against KUBECONFIG's API server), plain (no client certificate asked) or
//     mtls (--client-ca CLIENT_CA). Prints the port once listening.
import { readFileSync } from 'node:fs';
import type { RequestHandler } from 'express';
import { createLogger } from '../src/audit/logger';
import { RecentDecisions, recentDecisionsHandler } from '../src/audit/recent';
import { resolveKubeConfig } from '../src/cluster/kubeconfig';
import type { Verdict } from '../src/domain';
import { kubeAccessReviews } from '../src/security/access-review';
import { requireClientCertificate } from '../src/security/client-certificate';
import { DelegatedAccess } from '../src/security/delegated-access';
import { delegatedGate, operatorOnly } from '../src/security/operator-access';
import { createApp, OPERATOR_ROUTES } from '../src/server/app';
import { startHttpsServer } from '../src/server/https';
import { FakeApiServer } from '../test/fake-apiserver';
import { BENCH_TOKEN_PREFIX } from './security';

const BENCH_READER = { username: 'bench-reader', groups: ['readers', 'system:authenticated'] };

async function fakeApi(dir: string, tokens: number): Promise<void> {
  const fake = await FakeApiServer.start();
  for (let index = 0; index < tokens; index++) fake.auth.addToken(`${BENCH_TOKEN_PREFIX}${index}`, BENCH_READER);
  fake.auth.grant({ group: 'readers' }, [...OPERATOR_ROUTES]);
  process.stdout.write(`${JSON.stringify({ kubeconfig: fake.writeKubeconfig(dir) })}\n`);
  process.on('SIGTERM', () => void fake.close().then(() => process.exit(0)));
}

const ALLOW: Verdict = { allowed: true, warnings: [], auditAnnotations: {}, findings: [], pdbs: [] };

async function app(mode: string, certPath: string, keyPath: string, extra: string | undefined): Promise<void> {
  const logger = createLogger('silent');
  const recent = new RecentDecisions(1000);
  for (let index = 0; index < 50; index++) {
    recent.add({
      time: new Date().toISOString(),
      msg: 'eviction allowed',
      audit: { uid: `u-${index}`, user: 'alice', groups: ['sre'], pod: `shop/web-${index}`, dryRun: false, allowed: true, checks: [], pdbs: [], latencyMs: 0.2, factSource: 'cache', confirmedLive: false, caller: 'unauthenticated' },
    });
  }
  const admitEveryone: RequestHandler = (_req, _res, next) => next();
  let operatorAccess = admitEveryone;
  if (mode === 'delegated') {
    const kubeConfig = resolveKubeConfig(extra);
    if (kubeConfig === undefined) throw new Error('delegated needs a kubeconfig');
    operatorAccess = operatorOnly(delegatedGate(new DelegatedAccess({ reviews: kubeAccessReviews(kubeConfig) })), { logger });
  }
  const mtls = mode === 'mtls';
  const server = await startHttpsServer({
    app: createApp({
      handleEviction: async () => ALLOW,
      isReady: () => true,
      readyDetails: () => ({}),
      auditRecent: recentDecisionsHandler(recent),
      operatorAccess,
      verifyCaller: mtls ? requireClientCertificate({ names: ['kube-apiserver'], logger }) : undefined,
      logger,
    }),
    port: 0,
    host: '127.0.0.1',
    cert: readFileSync(certPath, 'utf8'),
    key: readFileSync(keyPath, 'utf8'),
    clientCa: mtls ? readFileSync(extra!, 'utf8') : undefined,
  });
  process.stdout.write(`${server.port}\n`);
  process.on('SIGTERM', () => void server.close(1000).then(() => process.exit(0)));
}

const [command, ...args] = process.argv.slice(2);
const started = command === 'fake-api' ? fakeApi(args[0], Number(args[1])) : command === 'app' ? app(args[0], args[1], args[2], args[3]) : Promise.reject(new Error(`unknown command "${command}"`));
started.catch((error: unknown) => {
  process.stderr.write(`security bench child failed: ${error instanceof Error ? error.message : String(error)}\n`);
  process.exit(1);
});
