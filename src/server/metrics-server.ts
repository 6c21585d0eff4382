// GET /metrics for Prometheus on its own plain-HTTP listener, apart from the webhook's HTTPS port:
// scrapers usually speak plain HTTP inside the cluster, and a slow or hammered scrape then never
// shares a listener (or a TLS handshake budget) with the API server's admission calls. Nothing
// sensitive is exposed here: counters with bounded labels and process metrics.
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Logger } from 'pino';
import type { WebhookMetrics } from '../audit/metrics';

export interface MetricsServerOptions {
  metrics: WebhookMetrics;
  /** 0 picks a free port; the handle reports the bound one. */
  port: number;
  host?: string;
  logger: Logger;
}

export interface MetricsServerHandle {
  port: number;
  close(): Promise<void>;
}

export function startMetricsServer(options: MetricsServerOptions): Promise<MetricsServerHandle> {
  const { metrics, logger } = options;
  const server = http.createServer((req, res) => {
    const path = new URL(req.url ?? '/', 'http://metrics').pathname;
    if (path !== '/metrics') {
      res.writeHead(404, { 'Content-Type': 'text/plain' }).end('only /metrics is served here\n');
      return;
    }
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      res.writeHead(405, { 'Content-Type': 'text/plain', Allow: 'GET, HEAD' }).end('use GET\n');
      return;
    }
    metrics.scrape().then(
      ({ contentType, body }) => {
        res.writeHead(200, { 'Content-Type': contentType, 'Content-Length': Buffer.byteLength(body) });
        res.end(req.method === 'HEAD' ? undefined : body);
      },
      (error: unknown) => {
        logger.error({ err: error }, 'collecting metrics failed');
        res.writeHead(500, { 'Content-Type': 'text/plain' }).end('collecting metrics failed; see the webhook log\n');
      },
    );
  });
  // A scrape is one short request; idle scraper connections must not hold shutdown up.
  server.keepAliveTimeout = 5_000;
  server.headersTimeout = 10_000;
  server.requestTimeout = 10_000;

  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port, options.host, () => {
      server.off('error', reject);
      resolve({
        port: (server.address() as AddressInfo).port,
        close: () =>
          new Promise<void>((done) => {
            server.close(() => done());
            server.closeIdleConnections();
            // A scrape in progress is cheap to cut: the scraper retries at its next interval.
            setTimeout(() => server.closeAllConnections(), 1_000).unref();
          }),
      });
    });
  });
}
