import { celTypeName, type CelVariables } from '../cel';
import type { CelRule } from '../schema';
import type { RuleInput, RuleOutcome } from './types';

/** Longest message a messageExpression may produce; the denial message stays under 1 KB. */
const MAX_MESSAGE_LENGTH = 300;

/** messageExpression when it yields a non-empty string, else message, else the expression itself. */
function violationMessage(rule: CelRule, variables: CelVariables): string {
  const produced = rule.messageExpression?.evaluate(variables);
  if (produced !== undefined && 'value' in produced && typeof produced.value === 'string' && produced.value.trim() !== '') {
    return produced.value.length > MAX_MESSAGE_LENGTH ? `${produced.value.slice(0, MAX_MESSAGE_LENGTH - 1)}…` : produced.value;
  }
  return rule.message ?? `The CEL rule is false: ${rule.expression.source}`;
}

/** `cel`: the expression states what must hold for the eviction; false is a violation. */
export function checkCel(rule: CelRule, input: RuleInput): RuleOutcome {
  const variables = input.celVariables();
  const result = rule.expression.evaluate(variables);
  if ('error' in result) return { error: `CEL evaluation failed: ${result.error}` };
  if (typeof result.value !== 'boolean') return { error: `CEL expression returned ${celTypeName(result.value)}, expected a bool` };
  if (result.value) return undefined;
  const message = violationMessage(rule, variables);
  return { violation: { message, summary: message, retryable: false } };
}
