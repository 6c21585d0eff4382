// The continuous lint gauges, read through the Prometheus text format as a scraper sees them.
import { Registry } from 'prom-client';
import { PdbFindingsMetrics } from '../../src/audit/pdb-findings-metrics';
import type { Severity } from '../../src/lint/pdb-lint';

const finding = (check: string, severity: Severity) => ({ check, severity });

describe('PdbFindingsMetrics', () => {
  it('counts the findings of the last pass by check and severity, with no object in a label', async () => {
    const registry = new Registry();
    const metrics = new PdbFindingsMetrics(registry);
    metrics.observe({
      findings: [finding('lint/overlapping-pdbs', 'error'), finding('lint/overlapping-pdbs', 'error'), finding('lint/never-allows', 'error'), finding('lint/unmanaged-pods', 'warning')],
      lintedAt: '2026-03-01T12:00:00.000Z',
      lintingMs: 250,
    });
    const body = await registry.metrics();
    expect(body).toContain('evictionguard_pdb_findings{check="lint/overlapping-pdbs",severity="error"} 2');
    expect(body).toContain('evictionguard_pdb_findings{check="lint/never-allows",severity="error"} 1');
    expect(body).toContain('evictionguard_pdb_findings{check="lint/unmanaged-pods",severity="warning"} 1');
    expect(body).toContain(`evictionguard_pdb_lint_last_pass_timestamp_seconds ${Date.parse('2026-03-01T12:00:00.000Z') / 1000}`);
    expect(body).toContain('evictionguard_pdb_lint_duration_seconds 0.25');
    expect(body.split('\n').filter((line) => line.startsWith('evictionguard_pdb_findings{')).every((line) => /^evictionguard_pdb_findings\{check="[^"]+",severity="[^"]+"\} \d+$/.test(line))).toBe(true);
  });

  it('shows a check whose findings were all fixed as 0 instead of dropping it', async () => {
    const registry = new Registry();
    const metrics = new PdbFindingsMetrics(registry);
    metrics.observe({ findings: [finding('lint/never-allows', 'error')], lintedAt: '2026-03-01T12:00:00.000Z', lintingMs: 1 });
    metrics.observe({ findings: [finding('lint/no-pdb', 'info')], lintedAt: '2026-03-01T12:01:00.000Z', lintingMs: 1 });
    const body = await registry.metrics();
    expect(body).toContain('evictionguard_pdb_findings{check="lint/never-allows",severity="error"} 0');
    expect(body).toContain('evictionguard_pdb_findings{check="lint/no-pdb",severity="info"} 1');
  });

  it('exports no finding counts before the first pass, and a last pass at 0', async () => {
    const registry = new Registry();
    new PdbFindingsMetrics(registry);
    const body = await registry.metrics();
    expect(body).not.toMatch(/^evictionguard_pdb_findings\{/m);
    expect(body).toMatch(/^evictionguard_pdb_lint_last_pass_timestamp_seconds 0$/m);
  });
});
