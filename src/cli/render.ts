// Output of the operator commands (check, lint): a kubectl-like table, or the whole report as JSON
// or YAML for scripts.
import { stringify } from 'yaml';
import { parseChoice } from './usage';

export const OUTPUT_FORMATS = ['table', 'json', 'yaml'] as const;
export type OutputFormat = (typeof OUTPUT_FORMATS)[number];

export function parseOutputFormat(value: string | undefined, usage: string): OutputFormat {
  return parseChoice(value, 'table', OUTPUT_FORMATS, '-o/--output', usage);
}

/** Columns padded to the widest cell plus three spaces, headers in capitals, as kubectl prints them. */
export function renderTable(headers: readonly string[], rows: readonly (readonly string[])[]): string {
  const widths = headers.map((header, column) => Math.max(header.length, ...rows.map((row) => (row[column] ?? '').length)));
  const line = (cells: readonly string[]) =>
    cells
      .map((cell, column) => (column === cells.length - 1 ? cell : cell.padEnd(widths[column] + 3)))
      .join('')
      .trimEnd();
  return [line(headers), ...rows.map(line)].join('\n');
}

export function renderData(report: unknown, format: 'json' | 'yaml'): string {
  return format === 'json' ? `${JSON.stringify(report, null, 2)}\n` : stringify(report, { lineWidth: 0 });
}
