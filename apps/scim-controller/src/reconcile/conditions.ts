import type { Condition, ConditionStatus, ConditionType } from '../api/scim-tenant.js';

export interface ConditionInput {
  type: ConditionType;
  status: ConditionStatus;
  reason: string;
  message: string;
}

/**
 * apimachinery's SetStatusCondition: lastTransitionTime changes only when status flips; a new reason,
 * message or generation leaves it alone.
 */
export function setCondition(
  conditions: readonly Condition[],
  input: ConditionInput,
  generation: number,
  now: Date,
): Condition[] {
  const existing = conditions.find((c) => c.type === input.type);
  const next: Condition = {
    ...input,
    observedGeneration: generation,
    lastTransitionTime:
      existing && existing.status === input.status ? existing.lastTransitionTime : now.toISOString(),
  };
  const others = conditions.filter((c) => c.type !== input.type);
  return [...others, next].sort((a, b) => order(a.type) - order(b.type));
}

const ORDER: ConditionType[] = ['Ready', 'SettingsApplied', 'TokenIssued', 'OAuthClientReady'];
const order = (type: ConditionType) => ORDER.indexOf(type);

export function findCondition(conditions: readonly Condition[] | undefined, type: ConditionType) {
  return conditions?.find((c) => c.type === type);
}
