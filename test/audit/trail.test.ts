import { WebhookMetrics } from '../../src/audit/metrics';
import { DecisionTrail } from '../../src/audit/trail';
import { combineFindings } from '../../src/decide';
import { attemptFor } from '../helpers/facts';
import { captureLog } from '../helpers/log-capture';

describe('DecisionTrail', () => {
  it('writes the reservation step into the audit line and counts it', async () => {
    const log = captureLog('info');
    const metrics = new WebhookMetrics();
    const reservation = { result: 'reserved' as const, scopes: ['owner/shop/Deployment/web'], attempts: 2, conflicts: 1 };
    const allowed = combineFindings([{ check: 'pdb/budget', action: 'audit', message: 'ok' }]);
    new DecisionTrail({ logger: log.logger, metrics }).record(attemptFor('web-1'), allowed, { factSource: 'cache', confirmedLive: false, latencyMs: 3, reservation });
    expect(log.lines[0]).toMatchObject({ msg: 'eviction allowed', audit: { pod: 'shop/web-1', allowed: true, reservation } });
    expect((await metrics.scrape()).body).toContain('evictionguard_reservation_conflicts_total 1');
  });

  it('leaves the reservation out of the audit line when nothing was claimed', () => {
    const log = captureLog('info');
    new DecisionTrail({ logger: log.logger }).record(attemptFor('web-1'), combineFindings([]), { factSource: 'cache', confirmedLive: false, latencyMs: 1 });
    expect(log.lines[0].audit).not.toHaveProperty('reservation');
  });
});
