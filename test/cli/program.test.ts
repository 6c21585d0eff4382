import { CHECK_USAGE } from '../../src/cli/check';
import { CERTS_USAGE } from '../../src/cli/certs';
import { invokedAs, usageAs } from '../../src/cli/program';
import { SERVE_USAGE } from '../../src/cli/serve';

describe('the name the command line was invoked by', () => {
  it.each([
    ['/usr/local/bin/kubectl-eviction_guard', 'kubectl eviction-guard'],
    ['C:\\npm\\kubectl-eviction_guard.cmd', 'kubectl eviction-guard'],
    ['/usr/local/bin/eviction-guard', 'eviction-guard'],
    ['/app/dist/cli/main.js', 'eviction-guard'],
    [undefined, 'eviction-guard'],
  ])('is %s → %s', (script, name) => {
    expect(invokedAs(script)).toBe(name);
  });

  it('shows command lines in the plugin form when run as the kubectl plugin', () => {
    const [usageLine] = CHECK_USAGE.split('\n');
    expect(usageLine).toMatch(/^Usage: eviction-guard check /);
    expect(usageAs(CHECK_USAGE, 'kubectl eviction-guard').split('\n')[0]).toBe(usageLine.replace('Usage: eviction-guard', 'Usage: kubectl eviction-guard'));
    expect(usageAs(SERVE_USAGE, 'kubectl eviction-guard')).toContain('the pair "kubectl eviction-guard certs" wrote');
    expect(usageAs(CERTS_USAGE, 'kubectl eviction-guard')).toContain('CA_BUNDLE=$(kubectl eviction-guard certs --print-ca-bundle)');
  });

  it('leaves names that only start like the command alone, and everything as it is for eviction-guard', () => {
    expect(usageAs('mounts the Secret "eviction-guard-tls"', 'kubectl eviction-guard')).toBe('mounts the Secret "eviction-guard-tls"');
    expect(usageAs(CHECK_USAGE, 'eviction-guard')).toBe(CHECK_USAGE);
  });
});
