// CEL expressions of policies, on @bufbuild/cel. An expression is parsed and planned once, when its
// policy is loaded; a parse error, an unknown variable or an unknown function rejects the policy
// with the position. Evaluation never throws: runtime errors come back as values.
import { celEnv, celList, celMap, isCelError, parse, plan, type CelInput } from '@bufbuild/cel';
import { strings } from '@bufbuild/cel/ext';
import { zonedTimestampMethods } from './cel-time';

type Expr = ReturnType<typeof parse>['expr'];

/**
 * The variables every policy expression can read (see the README's policy reference). The
 * namespace is `namespaceObject`, as in ValidatingAdmissionPolicy: CEL reserves `namespace`.
 */
const CEL_VARIABLES = ['pod', 'eviction', 'request', 'namespaceObject', 'pdbs', 'owner', 'node', 'now'] as const;
export type CelVariables = Record<(typeof CEL_VARIABLES)[number], CelInput>;

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

/** Operators and macros are named `_&&_`, `@in`, `!_`…; the planner handles the ones the resolver lacks. */
const isOperator = (name: string) => !/^[A-Za-z]/.test(name);

/**
 * The first identifier or function the expression uses that no variable, comprehension variable or
 * function defines: the mistakes a type checker would catch before any eviction is evaluated.
 */
function firstUnknownName(expr: Expr | undefined, scope: ReadonlySet<string>, positionOf: (id: bigint) => number | undefined): { what: string; id: bigint } | undefined {
  if (expr === undefined) return undefined;
  const visit = (child: Expr | undefined, inner = scope) => firstUnknownName(child, inner, positionOf);
  const kind = expr.exprKind;
  switch (kind.case) {
    case 'identExpr':
      return scope.has(kind.value.name) ? undefined : { what: `unknown variable "${kind.value.name}" (known: ${CEL_VARIABLES.join(', ')})`, id: expr.id };
    case 'selectExpr':
      return visit(kind.value.operand);
    case 'callExpr': {
      const { function: name, target, args } = kind.value;
      if (!isOperator(name) && env.funcs.find(name) === undefined) return { what: `unknown function "${name}"`, id: expr.id };
      for (const child of [target, ...args]) {
        const unknown = visit(child);
        if (unknown) return unknown;
      }
      return undefined;
    }
    case 'listExpr':
      for (const element of kind.value.elements) {
        const unknown = visit(element);
        if (unknown) return unknown;
      }
      return undefined;
    case 'structExpr':
      for (const entry of kind.value.entries) {
        const unknown = (entry.keyKind.case === 'mapKey' ? visit(entry.keyKind.value) : undefined) ?? visit(entry.value);
        if (unknown) return unknown;
      }
      return undefined;
    case 'comprehensionExpr': {
      const { iterVar, iterVar2, accuVar, iterRange, accuInit, loopCondition, loopStep, result } = kind.value;
      const inner = new Set([...scope, iterVar, iterVar2, accuVar].filter((name) => name !== ''));
      return visit(iterRange) ?? visit(accuInit) ?? visit(loopCondition, inner) ?? visit(loopStep, inner) ?? visit(result, inner);
    }
    default:
      return undefined;
  }
}

const GLOBAL_SCOPE: ReadonlySet<string> = new Set([...CEL_VARIABLES, ...TYPE_IDENTIFIERS]);

/** Parses and plans an expression; returns the problem, with its position, when it cannot. */
export function compileCel(source: string): CelProgram | { error: string } {
  let parsed: ReturnType<typeof parse>;
  try {
    parsed = parse(source);
  } catch (error) {
    return { error: describeParseError(error) };
  }
  const positions = parsed.sourceInfo?.positions ?? {};
  const positionOf = (id: bigint): number | undefined => positions[id.toString()];
  const where = (id: bigint | undefined) => {
    const offset = id === undefined ? undefined : positionOf(id);
    return offset === undefined ? '' : `${lineAndColumn(source, offset)}: `;
  };
  const unknown = firstUnknownName(parsed.expr, GLOBAL_SCOPE, positionOf);
  if (unknown) return { error: `${where(unknown.id)}${unknown.what}` };

  let run: (variables: CelVariables) => unknown;
  try {
    run = plan(env, parsed) as (variables: CelVariables) => unknown;
  } catch (error) {
    return { error: error instanceof Error ? error.message : String(error) };
  }
  return {
    source,
    evaluate(variables) {
      try {
        const value = run(variables);
        return isCelError(value) ? { error: `${where(value.exprId)}${value.message}` } : { value };
      } catch (error) {
        // The evaluator returns errors as values; this guards the server against a library bug.
        return { error: error instanceof Error ? error.message : String(error) };
      }
    },
  };
}

/**
 * A JSON-like value as CEL input: integral numbers become CEL ints (bigint), so that
 * `owner.replicas - 1` works; JS numbers would be CEL doubles, and double - int has no overload.
 * Objects and arrays become CEL maps and lists once, here: the evaluator would otherwise wrap
 * plain objects again on every access, which makes expressions several times slower.
 */
export function toCelValue(value: unknown): CelInput {
  if (typeof value === 'number') return Number.isInteger(value) ? BigInt(value) : value;
  if (Array.isArray(value)) return celList(value.map(toCelValue));
  if (typeof value === 'object' && value !== null) {
    const entries = new Map<string, CelInput>();
    for (const [key, entry] of Object.entries(value)) {
      // An absent field stays absent, so that has(x.field) is false rather than an error.
      if (entry !== undefined) entries.set(key, toCelValue(entry));
    }
    return celMap(entries);
  }
  return value as CelInput;
}

/** A short name of a result's type, for "expected bool, got …" messages. */
export function celTypeName(value: unknown): string {
  if (typeof value === 'bigint') return 'int';
  if (typeof value === 'number') return 'double';
  if (value === null) return 'null';
  if (typeof value === 'object') return 'a list, map or message';
  return typeof value;
}
