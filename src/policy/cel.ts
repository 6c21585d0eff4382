// CEL expressions of policies, on @bufbuild/cel. An expression is parsed, checked against the
// variables' declared types and planned once, when its policy is loaded; a parse error, an unknown
// variable, function or field rejects the policy with the position. Evaluation never throws:
// runtime errors come back as values, and a missing key is explained with what is there.
import { celEnv, celList, celMap, isCelError, isCelList, isCelMap, parse, plan, type CelError, type CelInput } from '@bufbuild/cel';
import { strings } from '@bufbuild/cel/ext';
import { isMessage } from '@bufbuild/protobuf';
import { zonedTimestampMethods } from './cel-time';
import { checkTypes, VARIABLE_TYPES, type Access, type CelVariableName, type DeclaredType } from './cel-types';

type Expr = NonNullable<ReturnType<typeof parse>['expr']>;

/**
 * The variables every policy expression can read, in the shape of the Kubernetes objects, with
 * their declared types (cel-types.ts, docs/policies.md). The namespace is `namespaceObject`, as in
 * ValidatingAdmissionPolicy: CEL reserves `namespace`.
 */
export type CelVariables = Readonly<Record<CelVariableName, CelInput>>;

/** Type names usable as values (`type(x) == int`). */
const TYPE_IDENTIFIERS = ['bool', 'bytes', 'double', 'duration', 'dyn', 'int', 'list', 'map', 'null_type', 'string', 'timestamp', 'type', 'uint'];

const env = celEnv({ funcs: [...strings, ...zonedTimestampMethods] });

type CelOutcome = { value: unknown } | { error: string };

export interface CelProgram {
  source: string;
  evaluate(variables: CelVariables): CelOutcome;
}

function lineAndColumn(source: string, offset: number): string {
  const before = source.slice(0, offset);
  const line = before.split('\n').length;
  const column = offset - before.lastIndexOf('\n');
  return `line ${line}, column ${column}`;
}

interface ParseFailure {
  message: string;
  location?: { start?: { line?: number; column?: number } };
}

function describeParseError(error: unknown): string {
  const { message, location } = error as ParseFailure;
  const start = location?.start;
  // The parser prefixes "<input>:LINE:COLUMN: "; say it in words instead.
  const problem = String(message).replace(/^<input>:\d+:\d+:\s*/, '');
  return start?.line !== undefined ? `line ${start.line}, column ${start.column}: ${problem}` : problem;
}

const GLOBAL_NAMES: ReadonlyMap<string, DeclaredType> = new Map([
  ...TYPE_IDENTIFIERS.map((name): [string, DeclaredType] => [name, { kind: 'dyn' }]),
  ...Object.entries(VARIABLE_TYPES),
]);

const isFunction = (name: string) => env.funcs.find(name) !== undefined;

/** An access as the explanation of its runtime errors uses it. */
interface AccessSite extends Access {
  /** The operand planned on its own, to list the keys that are there; planned on first need. */
  readOperand?: (variables: CelVariables) => unknown;
}

const MISSING = /^(?:field not found|no such key): (.*)$/;
const IDENTIFIER = /^[A-Za-z_][A-Za-z0-9_]*$/;
/** How many keys a message lists. */
const LISTED_KEYS = 10;

function listKeys(keys: string[]): string {
  if (keys.length === 0) return 'it is empty';
  const listed = keys.slice(0, LISTED_KEYS).join(', ');
  return keys.length > LISTED_KEYS ? `${listed}, … ${keys.length - LISTED_KEYS} more` : listed;
}

/** A missing key or field as the user wrote it: what is missing, where, what is there, and how to test for it. */
function describeMissing(site: AccessSite, key: string, variables: CelVariables): string {
  const { path, type } = site;
  // Inside a comprehension the operand reads its variables, which are not bound on their own: it
  // evaluates to an error then, and the message lists no keys.
  site.readOperand ??= plan(env, site.operand) as (variables: CelVariables) => unknown;
  const operand = site.readOperand(variables);
  if (operand === null) {
    const why = path === 'node' ? ' (the pod is not scheduled, or eviction-guard does not hold its Node)' : '';
    return `${path} is null${why}, so it has no field "${key}"; test it first: ${path} != null && ...`;
  }
  const present = isCelMap(operand) ? [...operand.keys()].map(String).sort() : undefined;
  const isMap = type.kind !== 'object';
  const testHas = `has(${path}.${key})`;
  const testIn = `"${key}" in ${path}`;
  if (isMap) {
    const there = present === undefined ? '' : ` (keys: ${listKeys(present)})`;
    const test = IDENTIFIER.test(key) ? `${testHas} or ${testIn}` : testIn;
    return `${path} has no key "${key}"${there}; test it first: ${test}`;
  }
  const there = present === undefined ? '' : ` (fields this one has: ${listKeys(present)})`;
  return `${path} has no field "${key}" here${there}: it is absent when not set; test it first: ${testHas}`;
}

/** A qualified name's value is not there: the evaluator goes on to the shorter names. */
const ABSENT = Symbol('absent');

/**
 * The variables of one eviction as the evaluator reads them. It resolves `pod.metadata.name` as
 * CEL's name resolution says: it asks for a variable named `pod.metadata.name`, then
 * `pod.metadata` (and selects `name`), then `pod` (and selects `metadata`, then `name`), and after
 * each miss looks for a protobuf type of that name. The qualified names that compiled expressions
 * select from a variable are answered here at once, each read once per eviction: the misses and
 * selections would otherwise make every path of the object shape dearer than the short forms
 * were. A path through a missing key or a null answers nothing, so the evaluator goes on and
 * reports it as usual. The checker rejects macro variables named like a variable, which could not
 * shadow its qualified names (cel-types.ts).
 */
class Activation {
  readonly object: CelInput;
  readonly request: CelInput;
  readonly pod: CelInput;
  readonly namespaceObject: CelInput;
  readonly node: CelInput;
  readonly pdbs: CelInput;
  readonly owner: CelInput;
  readonly now: CelInput;
  /** Values of qualified names by their index in QUALIFIED_NAMES, ABSENT when not there. */
  readonly paths: unknown[] = [];

  constructor(variables: CelVariables) {
    ({
      object: this.object,
      request: this.request,
      pod: this.pod,
      namespaceObject: this.namespaceObject,
      node: this.node,
      pdbs: this.pdbs,
      owner: this.owner,
      now: this.now,
    } = variables);
  }
}

/** The qualified names compiled expressions select, each a getter of Activation, by name. */
const QUALIFIED_NAMES = new Map<string, number>();

function addQualifiedName(name: string): void {
  if (QUALIFIED_NAMES.has(name)) return;
  const index = QUALIFIED_NAMES.size;
  QUALIFIED_NAMES.set(name, index);
  const [root, ...fields] = name.split('.') as [CelVariableName, ...string[]];
  Object.defineProperty(Activation.prototype, name, {
    get(this: Activation) {
      let value = this.paths[index];
      if (value === undefined) {
        value = this[root];
        for (const field of fields) value = isCelMap(value) ? value.get(field) : undefined;
        value ??= ABSENT;
        this.paths[index] = value;
      }
      return value === ABSENT ? undefined : value;
    },
  });
}

/** `pod.metadata.name` for a chain of field selections from a variable; undefined for anything else. */
function qualifiedName(expr: Expr | undefined): string | undefined {
  const kind = expr?.exprKind;
  if (kind?.case === 'identExpr') return Object.hasOwn(VARIABLE_TYPES, kind.value.name) ? kind.value.name : undefined;
  if (kind?.case !== 'selectExpr') return undefined;
  const operand = qualifiedName(kind.value.operand);
  return operand === undefined ? undefined : `${operand}.${kind.value.field}`;
}

/** The variables of one eviction, to evaluate every expression of its policies with. */
export function celActivation(variables: CelVariables): CelVariables {
  return new Activation(variables);
}

/** Parses, checks and plans an expression; returns the problem, with its position, when it cannot. */
export function compileCel(source: string): CelProgram | { error: string } {
  let parsed: ReturnType<typeof parse>;
  try {
    parsed = parse(source);
  } catch (error) {
    return { error: describeParseError(error) };
  }
  const positions = parsed.sourceInfo?.positions ?? {};
  const where = (id: bigint | undefined) => {
    const offset = id === undefined ? undefined : positions[id.toString()];
    return offset === undefined ? '' : `${lineAndColumn(source, offset)}: `;
  };
  const checked = checkTypes(parsed.expr, GLOBAL_NAMES, isFunction);
  if ('problem' in checked) return { error: `${where(checked.problem.id)}${checked.problem.what}` };

  let run: (variables: CelVariables) => unknown;
  try {
    run = plan(env, parsed) as (variables: CelVariables) => unknown;
  } catch (error) {
    return { error: error instanceof Error ? error.message : String(error) };
  }
  const sites = new Map<bigint, AccessSite[]>();
  for (const access of checked.accesses) {
    // The operand of a select or index, and a select itself unless it only tests presence.
    for (const name of [qualifiedName(access.operand), access.testOnly ? undefined : qualifiedName(access.expr)]) {
      if (name?.includes('.')) addQualifiedName(name);
    }
    if (!access.testOnly) sites.set(access.errorId, [...(sites.get(access.errorId) ?? []), access]);
  }

  const explain = (error: CelError, variables: CelVariables): string => {
    const missing = MISSING.exec(error.message)?.[1];
    const site = missing === undefined ? undefined : sites.get(error.exprId ?? -1n)?.find((candidate) => candidate.key === undefined || candidate.key === missing);
    if (site === undefined || missing === undefined) return `${where(error.exprId)}${error.message}`;
    return `${where(site.id)}${describeMissing(site, missing, variables)}`;
  };
  return {
    source,
    evaluate(variables) {
      try {
        const value = run(variables);
        return isCelError(value) ? { error: explain(value, variables) } : { value };
      } catch (error) {
        // The evaluator returns errors as values; this guards the server against a library bug.
        return { error: error instanceof Error ? error.message : String(error) };
      }
    },
  };
}

/** How to read each field of a CEL object from its source; a field that reads undefined is absent. */
export type CelFields<Source> = Readonly<Record<string, (source: Source) => unknown>>;

/**
 * A CEL map whose fields are read and converted when an expression first reads them, then kept:
 * most expressions read a few fields of a variable, so the rest (a pod's annotations, volumes,
 * timestamps…) is never built. The fields are a plain object's own properties, or read from a
 * source through a table of field readers, defined once per kind of object (celObject()).
 */
class LazyRecord<Source> implements ReadonlyMap<string, CelInput> {
  private converted: Map<string, CelInput> | undefined;

  constructor(
    private readonly source: Source,
    private readonly fields: CelFields<Source> | undefined,
  ) {}

  private read(key: string): unknown {
    if (this.fields === undefined) {
      const object = this.source as Readonly<Record<string, unknown>>;
      return Object.hasOwn(object, key) ? object[key] : undefined;
    }
    return Object.hasOwn(this.fields, key) ? this.fields[key](this.source) : undefined;
  }

  get(key: unknown): CelInput | undefined {
    if (typeof key !== 'string') return undefined;
    const kept = this.converted?.get(key);
    if (kept !== undefined) return kept;
    const value = this.read(key);
    // An absent field stays absent, so that has(x.field) is false rather than an error.
    if (value === undefined) return undefined;
    const converted = toCelValue(value);
    // Objects and lists are kept, converted once; strings, numbers and bools cost less to read again.
    if (typeof converted === 'object' && converted !== null) (this.converted ??= new Map()).set(key, converted);
    return converted;
  }

  has(key: unknown): boolean {
    return this.get(key) !== undefined;
  }

  *keys(): MapIterator<string> {
    for (const key of Object.keys(this.fields ?? (this.source as object))) if (this.get(key) !== undefined) yield key;
  }

  *entries(): MapIterator<[string, CelInput]> {
    for (const key of this.keys()) yield [key, this.get(key)!];
  }

  *values(): MapIterator<CelInput> {
    for (const key of this.keys()) yield this.get(key)!;
  }

  get size(): number {
    return [...this.keys()].length;
  }

  forEach(callback: (value: CelInput, key: string, map: ReadonlyMap<string, CelInput>) => void, thisArg?: unknown): void {
    for (const [key, value] of this.entries()) callback.call(thisArg, value, key, this);
  }

  [Symbol.iterator](): MapIterator<[string, CelInput]> {
    return this.entries();
  }
}

/** `source` as a CEL object with the given fields, each read when an expression first reads it. */
export function celObject<Source>(source: Source, fields: CelFields<Source>): CelInput {
  return celMap(new LazyRecord(source, fields));
}

/**
 * A JSON-like value as CEL input: integral numbers become CEL ints (bigint), so that
 * `owner.replicas - 1` works; JS numbers would be CEL doubles, and double - int has no overload.
 * Objects become CEL maps once, here, whose fields are converted on first read (LazyRecord): the
 * evaluator would otherwise wrap plain objects again on every access, which makes expressions
 * several times slower.
 */
export function toCelValue(value: unknown): CelInput {
  if (typeof value === 'number') return Number.isInteger(value) ? BigInt(value) : value;
  if (typeof value !== 'object' || value === null) return value as CelInput;
  if (Array.isArray(value)) return celList(value.map(toCelValue));
  // A protobuf message (a timestamp) and CEL maps and lists are CEL values already.
  if (isMessage(value) || isCelMap(value) || isCelList(value)) return value;
  return celMap(new LazyRecord(value as Readonly<Record<string, unknown>>, undefined));
}

/** A short name of a result's type, for "expected bool, got …" messages. */
export function celTypeName(value: unknown): string {
  if (typeof value === 'bigint') return 'int';
  if (typeof value === 'number') return 'double';
  if (value === null) return 'null';
  if (typeof value === 'object') return 'a list, map or message';
  return typeof value;
}
