#!/usr/bin/env node
// Writes the kustomize monitoring component's copies of the chart's monitoring files, which are
// their one source: charts/eviction-guard/files/prometheus-rules.yaml becomes the spec of
// manifests/components/monitoring/prometheusrule.yaml, and files/grafana-dashboard.json is copied
// as it is. (Helm reads only files inside the chart, kustomize only files inside the component.)
//   node scripts/sync-monitoring.js           rewrite the copies
//   node scripts/sync-monitoring.js --check   exit 1 naming the copies that are out of date
'use strict';
const fs = require('node:fs');
const path = require('node:path');
const YAML = require('yaml');

const REPO = path.resolve(__dirname, '..');
const CHART_FILES = path.join(REPO, 'charts/eviction-guard/files');
const COMPONENT = path.join(REPO, 'manifests/components/monitoring');

/** The component's generated files, by path relative to the repository. */
function componentFiles() {
  const rulesFile = path.join(CHART_FILES, 'prometheus-rules.yaml');
  const rules = YAML.parse(fs.readFileSync(rulesFile, 'utf8'));
  const rule = {
    apiVersion: 'monitoring.coreos.com/v1',
    kind: 'PrometheusRule',
    metadata: {
      name: 'eviction-guard',
      namespace: 'eviction-guard',
      labels: { 'app.kubernetes.io/name': 'eviction-guard', 'app.kubernetes.io/component': 'webhook', 'app.kubernetes.io/part-of': 'eviction-guard' },
    },
    spec: rules,
  };
  const header = '# Generated from charts/eviction-guard/files/prometheus-rules.yaml by `node scripts/sync-monitoring.js`: edit that file, not this one.\n';
  return {
    'manifests/components/monitoring/prometheusrule.yaml': header + YAML.stringify(rule, { lineWidth: 0 }),
    'manifests/components/monitoring/grafana-dashboard.json': fs.readFileSync(path.join(CHART_FILES, 'grafana-dashboard.json'), 'utf8'),
  };
}

function main(argv) {
  const check = argv.includes('--check');
  const stale = [];
  for (const [relative, content] of Object.entries(componentFiles())) {
    const file = path.join(REPO, relative);
    const current = fs.existsSync(file) ? fs.readFileSync(file, 'utf8') : undefined;
    if (current === content) continue;
    stale.push(relative);
    if (!check) {
      fs.mkdirSync(path.dirname(file), { recursive: true });
      fs.writeFileSync(file, content);
    }
  }
  if (check && stale.length > 0) {
    process.stderr.write(`out of date: ${stale.join(', ')}; run: node scripts/sync-monitoring.js\n`);
    return 1;
  }
  process.stdout.write(stale.length === 0 ? 'monitoring component up to date\n' : `wrote ${stale.join(', ')}\n`);
  return 0;
}

process.exitCode = main(process.argv.slice(2));
