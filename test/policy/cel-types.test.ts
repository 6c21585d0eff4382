import { readFileSync } from 'node:fs';
import path from 'node:path';
import { parse } from 'yaml';
import { compileCel } from '../../src/policy/cel';
import { CEL_VARIABLE_NAMES, declaredFields, typeName, VARIABLE_TYPES, VOLUME_SOURCES } from '../../src/policy/cel-types';

const policiesDoc = readFileSync(path.join(__dirname, '../../docs/policies.md'), 'utf8');
const celSection = policiesDoc.slice(policiesDoc.indexOf('**`cel`** expressions'), policiesDoc.indexOf('## Actions and `--mode`'));

/** The rows of the table after "**`<variable>`**", as `field` → type. */
function documentedFields(variable: string): [string, string][] {
  const start = celSection.indexOf(`**\`${variable}\`**:`);
  if (start < 0) return [];
  const rows: [string, string][] = [];
  for (const line of celSection.slice(start).split('\n').slice(1)) {
    if (line.startsWith('**')) break;
    const row = /^\| `([^`]+)` \| ([^|]+) \|/.exec(line);
    if (row) rows.push([row[1], row[2].trim()]);
  }
  return rows;
}

/** The declared fields a table lists: not the objects that only hold other fields, and every volume source as `<source>`. */
function tableFields(variable: (typeof CEL_VARIABLE_NAMES)[number]): [string, string][] {
  const type = VARIABLE_TYPES[variable];
  const fields = declaredFields(type.kind === 'list' ? type.elements : type).filter(([, field]) => field.kind !== 'object');
  const sources = new Set<string>(VOLUME_SOURCES.map((source) => `spec.volumes[].${source}`));
  const listed = fields.map(([field, fieldType]): [string, string] => [field, typeName(fieldType)]);
  return variable === 'pod' ? [...listed, ['spec.volumes[].<source>', 'object'] as [string, string]].filter(([field]) => !sources.has(field)) : listed;
}

describe('the declared CEL variables', () => {
  it.each(CEL_VARIABLE_NAMES.filter((name) => name !== 'now'))('are documented field by field with their types: %s', (variable) => {
    expect(documentedFields(variable).sort()).toEqual(tableFields(variable).sort());
  });

  it('name every variable in the docs, now among them', () => {
    for (const name of CEL_VARIABLE_NAMES) expect(celSection).toContain(`**\`${name}\`**`);
  });

  it('accept the example of the docs', () => {
    const example = /```yaml\n([\s\S]*?)```/.exec(celSection)?.[1] ?? '';
    const [{ cel }] = parse(example).rules as { cel: { expression: string; messageExpression: string } }[];
    expect([compileCel(cel.expression), compileCel(cel.messageExpression)].filter((compiled) => 'error' in compiled)).toEqual([]);
  });

  it('accept every documented field in an expression, and reject a field that is not declared', () => {
    for (const variable of CEL_VARIABLE_NAMES.filter((name) => name !== 'now')) {
      const root = VARIABLE_TYPES[variable].kind === 'list' ? `${variable}[0]` : variable;
      for (const [field] of tableFields(variable)) {
        const source = `has(${root}.${field.replaceAll('[]', '[0]').replace('<source>', 'emptyDir')})`;
        expect({ source, error: 'error' in compileCel(source) ? compileCel(source) : undefined }).toEqual({ source, error: undefined });
      }
      expect(compileCel(`has(${root}.notAField)`)).toEqual({ error: expect.stringContaining(`has no field "notAField"`) });
    }
  });
});
