/** Comparison operators of RFC 7644 §3.4.2.2, lower-cased (the RFC makes them case-insensitive). */
export type CompareOperator = 'eq' | 'ne' | 'co' | 'sw' | 'ew' | 'gt' | 'ge' | 'lt' | 'le';

/** `compValue` of RFC 7644 §3.4.2.2: `false / null / true / number / string`. */
export type FilterLiteral = string | number | boolean | null;

/**
 * The parsed filter. `attribute` is the attribute path text as written (`name.familyName`, `urn:…:User:userName`);
 * inside a `valuePath` it is relative to the complex attribute (`type`, `value`). `position` is the 0-based
 * offset in the filter text, for error messages.
 *
 * A value path followed by a sub-attribute comparison (`emails[type eq "work"].value eq "x"`) is parsed into
 * `valuePath(emails, (type eq "work") and (value eq "x"))`: both conditions must hold on the same element.
 */
export type FilterNode =
  | {
      readonly type: 'compare';
      readonly attribute: string;
      readonly op: CompareOperator;
      readonly value: FilterLiteral;
      readonly position: number;
    }
  | { readonly type: 'present'; readonly attribute: string; readonly position: number }
  | { readonly type: 'and'; readonly left: FilterNode; readonly right: FilterNode }
  | { readonly type: 'or'; readonly left: FilterNode; readonly right: FilterNode }
  | { readonly type: 'not'; readonly filter: FilterNode }
  | {
      readonly type: 'valuePath';
      readonly attribute: string;
      readonly filter: FilterNode;
      readonly position: number;
    };

export const COMPARE_OPERATORS: ReadonlySet<string> = new Set([
  'eq',
  'ne',
  'co',
  'sw',
  'ew',
  'gt',
  'ge',
  'lt',
  'le',
]);

/** Renders a filter back to RFC 7644 text; `parseFilter(formatFilter(ast))` gives an equal tree (positions aside). */
export function formatFilter(node: FilterNode): string {
  switch (node.type) {
    case 'compare':
      return `${node.attribute} ${node.op} ${JSON.stringify(node.value)}`;
    case 'present':
      return `${node.attribute} pr`;
    case 'and':
      return `${wrap(node.left, 'and')} and ${wrap(node.right, 'and')}`;
    case 'or':
      return `${wrap(node.left, 'or')} or ${wrap(node.right, 'or')}`;
    case 'not':
      return `not (${formatFilter(node.filter)})`;
    case 'valuePath':
      return `${node.attribute}[${formatFilter(node.filter)}]`;
  }
}

function wrap(node: FilterNode, parent: 'and' | 'or'): string {
  // `and` binds tighter than `or` (RFC 7644 §3.4.2.2 Table 5 precedence), so only an `or` under an `and` needs parentheses;
  // operands of the same operator are parenthesised on the right to keep the tree shape on re-parse.
  const text = formatFilter(node);
  if (node.type === 'or' && parent === 'and') return `(${text})`;
  if (node.type === parent) return `(${text})`;
  return text;
}
