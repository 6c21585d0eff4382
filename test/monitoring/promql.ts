// PromQL read with Prometheus' own grammar (@prometheus-io/lezer-promql, the parser of the
// Prometheus UI): syntax errors, and the metric and label names an expression uses.
import { parser } from '@prometheus-io/lezer-promql';

export interface PromqlNames {
  /** Syntax errors, as the text around each. */
  errors: string[];
  /** Metric names of the expression's selectors. */
  metrics: string[];
  /** Label names in matchers and in by/without/on/ignoring clauses. */
  labels: string[];
}

/** Grafana's interval variables, given values so that a dashboard query parses as PromQL. */
const GRAFANA_VARIABLES: Record<string, string> = { $__rate_interval: '5m', $__interval: '1m', $__range: '1h' };

export function grafanaToPromql(expr: string): string {
  return expr.replace(/\$__\w+/g, (variable) => {
    const value = GRAFANA_VARIABLES[variable];
    if (value === undefined) throw new Error(`unknown Grafana variable ${variable} in ${expr}`);
    return value;
  });
}

export function promqlNames(expr: string): PromqlNames {
  const names: PromqlNames = { errors: [], metrics: [], labels: [] };
  parser.parse(expr).iterate({
    enter(node) {
      const text = expr.slice(node.from, node.to);
      if (node.type.isError) names.errors.push(`near "${expr.slice(Math.max(0, node.from - 10), node.to + 10)}"`);
      else if (node.name === 'Identifier' && node.node.parent?.name === 'VectorSelector') names.metrics.push(text);
      else if (node.name === 'LabelName') names.labels.push(text);
    },
  });
  return names;
}
