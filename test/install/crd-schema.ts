// What the API server does with a custom resource, for the keywords the EvictionPolicy CRD uses:
// OpenAPI v3 validation, strict field validation (kubectl's default, which rejects unknown fields
// instead of pruning them) and x-kubernetes-validations rules, evaluated with @bufbuild/cel.
import { celEnv, isCelError, parse, plan } from '@bufbuild/cel';

// JSON schema nodes, as parsed from the CRD.
export type Schema = Record<string, any>;

/** The keywords this validator implements; structuralProblems() rejects a schema using others. */
export const SUPPORTED_KEYWORDS = new Set([
  'type',
  'description',
  'properties',
  'required',
  'items',
  'additionalProperties',
  'enum',
  'default',
  'minItems',
  'maxItems',
  'minLength',
  'maxLength',
  'minProperties',
  'maxProperties',
  'minimum',
  'pattern',
  'anyOf',
  'x-kubernetes-int-or-string',
  'x-kubernetes-validations',
  'x-kubernetes-list-type',
  'x-kubernetes-map-type',
]);

function children(schema: Schema): [string, Schema][] {
  const out: [string, Schema][] = [];
  for (const [name, child] of Object.entries(schema.properties ?? {})) out.push([`.${name}`, child as Schema]);
  if (schema.items) out.push(['[]', schema.items]);
  if (typeof schema.additionalProperties === 'object') out.push(['{}', schema.additionalProperties]);
  return out;
}

/**
 * Why the API server would refuse the schema as non-structural, or why this validator cannot
 * vouch for it: every node has a type (int-or-string nodes excepted, whose anyOf must be exactly
 * integer|string), no $ref, no preserve-unknown-fields, only supported keywords.
 */
export function structuralProblems(schema: Schema, at = ''): string[] {
  const problems: string[] = [];
  for (const keyword of Object.keys(schema)) {
    if (!SUPPORTED_KEYWORDS.has(keyword)) problems.push(`${at || '.'}: unsupported keyword ${keyword}`);
  }
  if (schema['x-kubernetes-int-or-string'] === true) {
    const types = (schema.anyOf ?? []).map((branch: Schema) => JSON.stringify(branch));
    if (schema.type !== undefined || JSON.stringify(types) !== JSON.stringify(['{"type":"integer"}', '{"type":"string"}'])) {
      problems.push(`${at}: int-or-string must be anyOf [integer, string] without a type`);
    }
  } else {
    if (typeof schema.type !== 'string') problems.push(`${at || '.'}: no type`);
    if (schema.anyOf) problems.push(`${at}: anyOf outside int-or-string`);
  }
  if (schema.type === 'object' && schema.properties && schema.additionalProperties) problems.push(`${at}: properties and additionalProperties together`);
  for (const [step, child] of children(schema)) problems.push(...structuralProblems(child, at + step));
  return problems;
}

const env = celEnv({});
const planned = new Map<string, (variables: Record<string, unknown>) => unknown>();

function toCel(value: unknown): unknown {
  if (typeof value === 'number') return Number.isInteger(value) ? BigInt(value) : value;
  if (Array.isArray(value)) return value.map(toCel);
  if (typeof value === 'object' && value !== null) return Object.fromEntries(Object.entries(value).map(([key, entry]) => [key, toCel(entry)]));
  return value;
}

/** Parses and plans a rule; throws on a syntax error or an unknown function. */
export function compileRule(rule: string): (variables: Record<string, unknown>) => unknown {
  let run = planned.get(rule);
  if (!run) {
    run = plan(env, parse(rule)) as (variables: Record<string, unknown>) => unknown;
    planned.set(rule, run);
  }
  return run;
}

function evaluateRule(rule: string, self: unknown): unknown {
  return compileRule(rule)({ self: toCel(self) });
}

function typeOf(value: unknown): string {
  if (Array.isArray(value)) return 'array';
  if (value === null) return 'null';
  if (typeof value === 'number') return Number.isInteger(value) ? 'integer' : 'number';
  return typeof value;
}

/** The errors the API server would answer when the object is created; [] when it would be accepted. */
export function validateAgainst(schema: Schema, value: unknown, at = ''): string[] {
  const where = at || '<root>';
  const type = typeOf(value);
  if (schema['x-kubernetes-int-or-string'] === true) {
    if (type !== 'integer' && type !== 'string') return [`${where}: must be an integer or a string`];
  } else if (schema.type !== type && !(schema.type === 'number' && type === 'integer')) {
    return [`${where}: must be of type ${schema.type}, got ${type}`];
  }
  const errors: string[] = [];
  if (schema.enum && !schema.enum.includes(value)) errors.push(`${where}: must be one of ${JSON.stringify(schema.enum)}`);
  if (typeof value === 'string') {
    if (schema.minLength !== undefined && value.length < schema.minLength) errors.push(`${where}: shorter than ${schema.minLength}`);
    if (schema.maxLength !== undefined && value.length > schema.maxLength) errors.push(`${where}: longer than ${schema.maxLength}`);
    if (schema.pattern !== undefined && !new RegExp(schema.pattern).test(value)) errors.push(`${where}: does not match ${schema.pattern}`);
  }
  if (typeof value === 'number' && schema.minimum !== undefined && value < schema.minimum) errors.push(`${where}: less than ${schema.minimum}`);
  if (Array.isArray(value)) {
    if (schema.minItems !== undefined && value.length < schema.minItems) errors.push(`${where}: fewer than ${schema.minItems} items`);
    if (schema.maxItems !== undefined && value.length > schema.maxItems) errors.push(`${where}: more than ${schema.maxItems} items`);
    value.forEach((item, index) => errors.push(...validateAgainst(schema.items, item, `${at}[${index}]`)));
  }
  if (type === 'object') {
    const object = value as Record<string, unknown>;
    const keys = Object.keys(object);
    if (schema.minProperties !== undefined && keys.length < schema.minProperties) errors.push(`${where}: fewer than ${schema.minProperties} properties`);
    if (schema.maxProperties !== undefined && keys.length > schema.maxProperties) errors.push(`${where}: more than ${schema.maxProperties} properties`);
    for (const name of schema.required ?? []) if (!(name in object)) errors.push(`${where}: ${name} is required`);
    for (const key of keys) {
      const child = schema.properties?.[key] ?? (typeof schema.additionalProperties === 'object' ? schema.additionalProperties : undefined);
      // metadata is validated by the API server's ObjectMeta rules, not the schema.
      if (child) errors.push(...validateAgainst(child, object[key], `${at}.${key}`));
      else if (!(at === '' && key === 'metadata') && !(at === '.metadata')) errors.push(`${at}.${key}: unknown field`);
    }
  }
  // Rules run only on values that passed the schema, as in the API server.
  if (errors.length === 0) {
    for (const { rule, message } of schema['x-kubernetes-validations'] ?? []) {
      const result = evaluateRule(rule, value);
      if (isCelError(result)) errors.push(`${where}: rule ${rule} failed to evaluate: ${result.message}`);
      else if (result !== true) errors.push(`${where}: ${message ?? `failed rule ${rule}`}`);
    }
  }
  return errors;
}

/** Every x-kubernetes-validations rule in the schema, with where it is. */
export function celRules(schema: Schema, at = ''): { at: string; rule: string }[] {
  const rules = (schema['x-kubernetes-validations'] ?? []).map(({ rule }: { rule: string }) => ({ at: at || '.', rule }));
  for (const [step, child] of children(schema)) rules.push(...celRules(child, at + step));
  return rules;
}

/** Applies the schema's defaults, as the API server does before validation. */
export function applyDefaults(schema: Schema, value: unknown): unknown {
  if (Array.isArray(value)) return value.map((item) => applyDefaults(schema.items ?? {}, item));
  if (typeof value !== 'object' || value === null) return value;
  const object: Record<string, unknown> = { ...(value as Record<string, unknown>) };
  for (const [key, child] of Object.entries((schema.properties ?? {}) as Record<string, Schema>)) {
    if (object[key] === undefined && child.default !== undefined) object[key] = child.default;
    if (object[key] !== undefined) object[key] = applyDefaults(child, object[key]);
  }
  return object;
}
