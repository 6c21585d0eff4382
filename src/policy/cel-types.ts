// The declared types of the CEL variables, and the load-time check of an expression against them.
// @bufbuild/cel 0.6.1 has a type checker, but it neither is exported nor gets past constants and
// identifiers (it throws "Unsupported expression kind" on a select or a call), so eviction-guard
// walks the parsed AST itself: every field selected on a declared object must be declared, which
// turns `pod.metadta` into a load error instead of a denial at run time.
import type { parse } from '@bufbuild/cel';

/** A declared type: what the checker knows of a value. `dyn` accepts anything. */
export type DeclaredType =
  | { kind: 'object'; fields: Readonly<Record<string, DeclaredType>>; nullable?: boolean }
  | { kind: 'map'; values: DeclaredType }
  | { kind: 'list'; elements: DeclaredType }
  | { kind: 'scalar'; name: 'string' | 'int' | 'bool' | 'timestamp' }
  /** `is` names what a dyn field holds, for messages and the docs ("int or string"). */
  | { kind: 'dyn'; is?: string };

const STRING: DeclaredType = { kind: 'scalar', name: 'string' };
const INT: DeclaredType = { kind: 'scalar', name: 'int' };
const BOOL: DeclaredType = { kind: 'scalar', name: 'bool' };
const TIMESTAMP: DeclaredType = { kind: 'scalar', name: 'timestamp' };
/** int or string, as an IntOrString field (a PDB's minAvailable). */
const INT_OR_STRING: DeclaredType = { kind: 'dyn', is: 'int or string' };
const object = (fields: Record<string, DeclaredType>): DeclaredType => ({ kind: 'object', fields });
const mapOf = (values: DeclaredType): DeclaredType => ({ kind: 'map', values });
const listOf = (elements: DeclaredType): DeclaredType => ({ kind: 'list', elements });
const STRING_MAP = mapOf(STRING);

/**
 * The volume sources of a core/v1 Volume. The index keeps which one a volume has, not its content:
 * a volume is `{name, <source>: {}}`, so `has(v.emptyDir)` reads as users write it.
 */
export const VOLUME_SOURCES = [
  'awsElasticBlockStore', 'azureDisk', 'azureFile', 'cephfs', 'cinder', 'configMap', 'csi', 'downwardAPI', 'emptyDir',
  'ephemeral', 'fc', 'flexVolume', 'flocker', 'gcePersistentDisk', 'gitRepo', 'glusterfs', 'hostPath', 'image', 'iscsi',
  'nfs', 'persistentVolumeClaim', 'photonPersistentDisk', 'portworxVolume', 'projected', 'quobyte', 'rbd', 'scaleIO',
  'secret', 'storageos', 'vsphereVolume',
] as const;

const condition = (extra: Record<string, DeclaredType> = {}) => object({ type: STRING, status: STRING, ...extra, lastTransitionTime: TIMESTAMP });

const POD = object({
  metadata: object({
    name: STRING,
    namespace: STRING,
    uid: STRING,
    labels: STRING_MAP,
    annotations: STRING_MAP,
    ownerReferences: listOf(object({ apiVersion: STRING, kind: STRING, name: STRING, uid: STRING, controller: BOOL })),
    creationTimestamp: TIMESTAMP,
    deletionTimestamp: TIMESTAMP,
  }),
  spec: object({
    nodeName: STRING,
    priorityClassName: STRING,
    priority: INT,
    serviceAccountName: STRING,
    volumes: listOf(object({ name: STRING, ...Object.fromEntries(VOLUME_SOURCES.map((source) => [source, object({})])) })),
  }),
  status: object({ phase: STRING, conditions: listOf(condition()), startTime: TIMESTAMP }),
});

const LABEL_SELECTOR = object({
  matchLabels: STRING_MAP,
  matchExpressions: listOf(object({ key: STRING, operator: STRING, values: listOf(STRING) })),
});

const PDB = object({
  metadata: object({ name: STRING, namespace: STRING, uid: STRING, generation: INT }),
  spec: object({ selector: LABEL_SELECTOR, minAvailable: INT_OR_STRING, maxUnavailable: INT_OR_STRING, unhealthyPodEvictionPolicy: STRING }),
  status: object({
    observedGeneration: INT,
    disruptionsAllowed: INT,
    currentHealthy: INT,
    desiredHealthy: INT,
    expectedPods: INT,
    disruptedPods: mapOf(TIMESTAMP),
    conditions: listOf(object({ type: STRING, status: STRING, reason: STRING, message: STRING })),
  }),
});

/** The variables every policy expression can read, in the shape of the Kubernetes objects (docs/policies.md). */
export const VARIABLE_TYPES = {
  object: object({
    apiVersion: STRING,
    kind: STRING,
    metadata: object({ name: STRING, namespace: STRING }),
    deleteOptions: object({ gracePeriodSeconds: INT, dryRun: listOf(STRING), preconditions: object({ uid: STRING }) }),
  }),
  request: object({
    uid: STRING,
    kind: object({ group: STRING, version: STRING, kind: STRING }),
    resource: object({ group: STRING, version: STRING, resource: STRING }),
    subResource: STRING,
    name: STRING,
    namespace: STRING,
    operation: STRING,
    userInfo: object({ username: STRING, uid: STRING, groups: listOf(STRING) }),
    dryRun: BOOL,
  }),
  pod: POD,
  namespaceObject: object({ metadata: object({ name: STRING, uid: STRING, labels: STRING_MAP, annotations: STRING_MAP }) }),
  node: {
    kind: 'object',
    nullable: true,
    fields: {
      metadata: object({ name: STRING, uid: STRING, labels: STRING_MAP, annotations: STRING_MAP }),
      spec: object({ unschedulable: BOOL, taints: listOf(object({ key: STRING, value: STRING, effect: STRING })) }),
      status: object({ conditions: listOf(condition({ reason: STRING })) }),
    },
  },
  pdbs: listOf(PDB),
  owner: object({ kind: STRING, name: STRING, replicas: INT, readyReplicas: INT }),
  now: TIMESTAMP,
} satisfies Record<string, DeclaredType>;

export type CelVariableName = keyof typeof VARIABLE_TYPES;
export const CEL_VARIABLE_NAMES = Object.keys(VARIABLE_TYPES) as CelVariableName[];

/** How a type reads in messages and in the docs' tables. */
export function typeName(type: DeclaredType): string {
  switch (type.kind) {
    case 'object':
      return type.nullable ? 'object or null' : 'object';
    case 'map':
      return `map(string, ${typeName(type.values)})`;
    case 'list':
      return `list(${typeName(type.elements)})`;
    case 'scalar':
      return type.name;
    case 'dyn':
      return type.is ?? 'dyn';
  }
}

/** Every field under a type, as `metadata.labels` → its type; list elements as `volumes[]`. */
export function declaredFields(type: DeclaredType, prefix = ''): [string, DeclaredType][] {
  const fields: [string, DeclaredType][] = [];
  const visit = (inner: DeclaredType, path: string) => {
    if (inner.kind === 'object') {
      for (const [name, field] of Object.entries(inner.fields)) {
        const fieldPath = path === '' ? name : `${path}.${name}`;
        fields.push([fieldPath, field]);
        visit(field, fieldPath);
      }
    } else if (inner.kind === 'list') {
      visit(inner.elements, `${path}[]`);
    }
  };
  visit(type, prefix);
  return fields;
}

type Expr = NonNullable<ReturnType<typeof parse>['expr']>;

/** A problem the checker found, at the expression node `id`. */
export interface TypeProblem {
  what: string;
  id: bigint;
}

/** A type as the checker holds it, with the path it was read from, for messages. */
interface Typed {
  type: DeclaredType;
  path: string;
}

const DYN: DeclaredType = { kind: 'dyn' };

class CheckFailure extends Error {
  constructor(
    readonly what: string,
    readonly id: bigint,
  ) {
    super(what);
  }
}

/** Variables of the short forms before the Kubernetes object shape, with what replaces them. */
const RENAMED_VARIABLES: Record<string, string> = { eviction: 'the Eviction is `object`' };

/** Operators and macros are named `_&&_`, `@in`, `!_`…; the planner handles the ones the resolver lacks. */
const isOperator = (name: string) => !/^[A-Za-z]/.test(name);

/** `pod.metadata.name` for `pod.name`: where a field the user selected lives one or two levels down. */
function nearestField(type: DeclaredType, field: string, path: string, depth = 2): string | undefined {
  if (type.kind !== 'object' || depth === 0) return undefined;
  for (const [name, child] of Object.entries(type.fields)) {
    if (child.kind === 'object' && Object.hasOwn(child.fields, field)) return `${path}.${name}.${field}`;
  }
  for (const [name, child] of Object.entries(type.fields)) {
    const deeper = nearestField(child, field, `${path}.${name}`, depth - 1);
    if (deeper !== undefined) return deeper;
  }
  return undefined;
}

function selectField(operand: Typed, field: string, id: bigint): Typed {
  const { type, path } = operand;
  switch (type.kind) {
    case 'object': {
      if (Object.hasOwn(type.fields, field)) return { type: type.fields[field], path: `${path}.${field}` };
      const names = Object.keys(type.fields);
      if (names.length === 0) {
        throw new CheckFailure(`${path} has no field "${field}": only which source a volume has is kept, not its content (test it with has(${path}))`, id);
      }
      const nearest = nearestField(type, field, path);
      throw new CheckFailure(`${path} has no field "${field}" (fields: ${names.join(', ')})${nearest === undefined ? '' : `; did you mean ${nearest}?`}`, id);
    }
    case 'map':
      return { type: type.values, path: `${path}.${field}` };
    case 'list':
      throw new CheckFailure(`${path} is a ${typeName(type)}, which has no field "${field}": read its elements, e.g. ${path}.exists(x, x.${field} == ...)`, id);
    case 'scalar':
      throw new CheckFailure(`${path} is a ${type.name}, which has no field "${field}"`, id);
    case 'dyn':
      return { type: DYN, path: `${path}.${field}` };
  }
}

/**
 * The identifier a chain of selects and indexes starts from: the planner evaluates such a chain as
 * one attribute and reports a missing index key at that node.
 */
function chainRoot(expr: Expr): Expr {
  const kind = expr.exprKind;
  if (kind.case === 'selectExpr' && kind.value.operand !== undefined) return chainRoot(kind.value.operand);
  if (kind.case === 'callExpr' && kind.value.function === '_[_]' && kind.value.args[0] !== undefined) return chainRoot(kind.value.args[0]);
  return expr;
}

function stringConstant(expr: Expr | undefined): string | undefined {
  const constant = expr?.exprKind.case === 'constExpr' ? expr.exprKind.value.constantKind : undefined;
  return constant?.case === 'stringValue' ? constant.value : undefined;
}

function indexInto(operand: Typed, key: Expr, id: bigint): Typed {
  const { type, path } = operand;
  const constant = key.exprKind.case === 'constExpr' ? key.exprKind.value.constantKind : undefined;
  const stringKey = stringConstant(key);
  switch (type.kind) {
    case 'object':
      return stringKey === undefined ? { type: DYN, path: `${path}[]` } : selectField(operand, stringKey, id);
    case 'map':
      return { type: type.values, path: stringKey === undefined ? `${path}[]` : `${path}["${stringKey}"]` };
    case 'list':
      return { type: type.elements, path: constant?.case === 'int64Value' ? `${path}[${constant.value}]` : `${path}[]` };
    case 'scalar':
      throw new CheckFailure(`${path} is a ${type.name}, which cannot be indexed`, id);
    case 'dyn':
      return { type: DYN, path: `${path}[]` };
  }
}

/** What a macro's variable ranges over: a list's elements, a map's keys. (The parser has no two-variable macros.) */
function elementType(range: DeclaredType): DeclaredType {
  if (range.kind === 'list') return range.elements;
  if (range.kind === 'map' || range.kind === 'object') return STRING;
  return DYN;
}

/** The filter macro appends the element to the accumulator: `cond ? @result + [x] : @result`. */
function isFilterStep(step: Expr | undefined, accuVar: string, iterVar: string): boolean {
  if (step?.exprKind.case !== 'callExpr' || step.exprKind.value.function !== '_?_:_') return false;
  const append = step.exprKind.value.args[1];
  if (append?.exprKind.case !== 'callExpr' || append.exprKind.value.function !== '_+_') return false;
  const [accumulator, list] = append.exprKind.value.args;
  const element = list?.exprKind.case === 'listExpr' ? list.exprKind.value.elements : [];
  return (
    accumulator?.exprKind.case === 'identExpr' &&
    accumulator.exprKind.value.name === accuVar &&
    element.length === 1 &&
    element[0].exprKind.case === 'identExpr' &&
    element[0].exprKind.value.name === iterVar
  );
}

type Scope = ReadonlyMap<string, Typed>;

/**
 * A field selection or an index whose key the value may lack at run time (an optional field, a
 * map key): the runtime errors that remain once the types are checked. Kept to explain them.
 */
export interface Access {
  /** The select or index node, whose position a message gives. */
  id: bigint;
  expr: Expr;
  /** A select in has(), which tests presence and never fails on a missing field. */
  testOnly: boolean;
  /** The node the evaluator's error names: the select, or the operand of an index. */
  errorId: bigint;
  /** The key read; undefined when computed (`labels[name]`). */
  key: string | undefined;
  operand: Expr;
  /** The operand as written (`pod.metadata.labels`, `p.spec`) and its declared type. */
  path: string;
  type: DeclaredType;
}

interface Walk {
  isFunction: (name: string) => boolean;
  accesses: Access[];
}

function typeOf(expr: Expr | undefined, scope: Scope, walk: Walk): Typed {
  if (expr === undefined) return { type: DYN, path: '' };
  const visit = (child: Expr | undefined, inner = scope) => typeOf(child, inner, walk);
  const kind = expr.exprKind;
  switch (kind.case) {
    case 'identExpr': {
      const { name } = kind.value;
      const typed = scope.get(name);
      if (typed !== undefined) return typed;
      const renamed = RENAMED_VARIABLES[name];
      throw new CheckFailure(`unknown variable "${name}" (known: ${CEL_VARIABLE_NAMES.join(', ')})${renamed === undefined ? '' : `; ${renamed}`}`, expr.id);
    }
    case 'selectExpr': {
      const { operand, field, testOnly } = kind.value;
      const typed = visit(operand);
      if (operand !== undefined) walk.accesses.push({ id: expr.id, expr, testOnly, errorId: expr.id, key: field, operand, ...typed });
      return selectField(typed, field, expr.id);
    }
    case 'callExpr': {
      const { function: name, target, args } = kind.value;
      if (!isOperator(name) && !walk.isFunction(name)) throw new CheckFailure(`unknown function "${name}"`, expr.id);
      visit(target);
      const argTypes = args.map((arg) => visit(arg));
      if (name === '_[_]') {
        walk.accesses.push({ id: expr.id, expr, testOnly: false, errorId: chainRoot(args[0]).id, key: stringConstant(args[1]), operand: args[0], ...argTypes[0] });
        return indexInto(argTypes[0], args[1], expr.id);
      }
      if (name === '_?_:_' && argTypes[1].type === argTypes[2].type) return { type: argTypes[1].type, path: 'the result' };
      return { type: DYN, path: `the result of ${name}()` };
    }
    case 'listExpr':
      kind.value.elements.forEach((element) => visit(element));
      return { type: listOf(DYN), path: 'the list' };
    case 'structExpr':
      for (const entry of kind.value.entries) {
        if (entry.keyKind.case === 'mapKey') visit(entry.keyKind.value);
        visit(entry.value);
      }
      return { type: DYN, path: 'the map' };
    case 'comprehensionExpr': {
      const { iterVar, accuVar, iterRange, accuInit, loopCondition, loopStep, result } = kind.value;
      // The activation answers qualified names of the variables (cel.ts), which a macro variable could not shadow.
      if (Object.hasOwn(VARIABLE_TYPES, iterVar)) throw new CheckFailure(`the macro variable "${iterVar}" has the name of a variable; choose another name`, expr.id);
      const range = visit(iterRange);
      visit(accuInit);
      const inner = new Map(scope);
      inner.set(iterVar, { type: elementType(range.type), path: iterVar });
      inner.set(accuVar, { type: DYN, path: accuVar });
      visit(loopCondition, inner);
      visit(loopStep, inner);
      visit(result, inner);
      const filtered = range.type.kind === 'list' && isFilterStep(loopStep, accuVar, iterVar);
      return filtered ? { type: range.type, path: `${range.path}.filter(...)` } : { type: DYN, path: `the result of a macro on ${range.path}` };
    }
    default:
      return { type: DYN, path: 'the constant' };
  }
}

/**
 * Checks an expression against the declared types: the first identifier, function or field it
 * uses that the variables, comprehension variables, functions and types do not define is the
 * problem, the mistake a type checker catches before any eviction is evaluated. Without one, the
 * accesses that can still miss at run time. `names` are the global identifiers with their types.
 */
export function checkTypes(
  expr: Expr | undefined,
  names: ReadonlyMap<string, DeclaredType>,
  isFunction: (name: string) => boolean,
): { problem: TypeProblem } | { accesses: Access[] } {
  const scope = new Map([...names].map(([name, type]) => [name, { type, path: name }]));
  const walk: Walk = { isFunction, accesses: [] };
  try {
    typeOf(expr, scope, walk);
    return { accesses: walk.accesses };
  } catch (error) {
    if (error instanceof CheckFailure) return { problem: { what: error.what, id: error.id } };
    throw error;
  }
}
