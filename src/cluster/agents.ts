import type { KubeConfig } from '@kubernetes/client-node';
import https from 'node:https';

/**
 * Keep-alive agents, one per kubeconfig and TLS identity. client-node makes a new agent, and so a
 * new TLS handshake, for every call; a confirm read per denial would then cost two handshakes. An
 * agent is replaced when the TLS material changes (e.g. an exec plugin rotating a client cert).
 */
export class KeepAliveAgents {
  private readonly agents = new WeakMap<KubeConfig, { identity: string; agent: https.Agent }>();

  constructor(private readonly maxSockets: number) {}

  /** The agent for requests made with `options`, as filled in by kubeConfig.applyToHTTPSOptions. */
  agentFor(kubeConfig: KubeConfig, options: https.RequestOptions): https.Agent {
    const identity = [options.ca, options.cert, options.key, options.pfx, options.servername, options.rejectUnauthorized]
      .map((value) => (value === undefined ? '' : String(value)))
      .join('\u0000');
    const cached = this.agents.get(kubeConfig);
    if (cached?.identity === identity) return cached.agent;
    cached?.agent.destroy();
    const { ca, cert, key, pfx, passphrase, servername, rejectUnauthorized } = options;
    const agent = new https.Agent({ keepAlive: true, maxSockets: this.maxSockets, timeout: 30_000, ca, cert, key, pfx, passphrase, servername, rejectUnauthorized });
    this.agents.set(kubeConfig, { identity, agent });
    return agent;
  }

  /** Closes the kept-alive connections of a kubeconfig. */
  release(kubeConfig: KubeConfig): void {
    this.agents.get(kubeConfig)?.agent.destroy();
    this.agents.delete(kubeConfig);
  }
}
