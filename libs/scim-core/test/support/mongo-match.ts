// A tiny evaluator of exactly the MongoDB query subset that filterToMongo emits, following MongoDB's
// documented semantics (dotted paths descend into arrays; comparisons only match values of the same BSON type).
// Test code only: it lets the property test compare the translation with the in-memory evaluator.

type Doc = Record<string, unknown>;

function isObject(v: unknown): v is Doc {
  return typeof v === 'object' && v !== null && !Array.isArray(v) && !(v instanceof Date);
}

/** Values reachable by a dotted path; arrays met on the way are traversed, a final array contributes its elements and itself. */
function valuesAt(doc: unknown, path: string): { values: unknown[]; exists: boolean } {
  let current: unknown[] = [doc];
  let exists = true;
  for (const segment of path.split('.')) {
    const next: unknown[] = [];
    for (const value of current) {
      const holders = Array.isArray(value) ? value : [value];
      for (const holder of holders) if (isObject(holder) && segment in holder) next.push(holder[segment]);
    }
    current = next;
    if (current.length === 0) exists = false;
  }
  const values: unknown[] = [];
  for (const v of current) {
    if (Array.isArray(v)) values.push(...v, v);
    else values.push(v);
  }
  return { values, exists: exists && current.length > 0 };
}

function sameType(a: unknown, b: unknown): boolean {
  if (a instanceof Date || b instanceof Date) return a instanceof Date && b instanceof Date;
  return typeof a === typeof b && a !== null && b !== null;
}

function key(v: unknown): unknown {
  return v instanceof Date ? v.getTime() : v;
}

function compare(a: unknown, b: unknown): number {
  const x = key(a) as string | number;
  const y = key(b) as string | number;
  if (typeof x === 'string' && typeof y === 'string') {
    // MongoDB compares strings by their UTF-8 bytes.
    return Buffer.compare(Buffer.from(x, 'utf8'), Buffer.from(y, 'utf8'));
  }
  return x < y ? -1 : x > y ? 1 : 0;
}

function matchCondition(doc: Doc, field: string, condition: unknown): boolean {
  const { values, exists } = valuesAt(doc, field);
  if (!isObject(condition) || !Object.keys(condition).some((k) => k.startsWith('$'))) {
    return values.some((v) => sameType(v, condition) && compare(v, condition) === 0);
  }
  return Object.entries(condition).every(([op, operand]) => {
    switch (op) {
      case '$eq':
        return values.some((v) => sameType(v, operand) && compare(v, operand) === 0);
      case '$ne':
        return !values.some((v) => sameType(v, operand) && compare(v, operand) === 0);
      case '$gt':
        return values.some((v) => sameType(v, operand) && compare(v, operand) > 0);
      case '$gte':
        return values.some((v) => sameType(v, operand) && compare(v, operand) >= 0);
      case '$lt':
        return values.some((v) => sameType(v, operand) && compare(v, operand) < 0);
      case '$lte':
        return values.some((v) => sameType(v, operand) && compare(v, operand) <= 0);
      case '$exists':
        return operand ? exists : !exists;
      case '$in':
        return values.some((v) => (operand as unknown[]).some((o) => sameType(v, o) && compare(v, o) === 0));
      case '$options':
        return true;
      case '$regex': {
        const flags = (condition.$options as string | undefined) ?? '';
        const source = (operand as string).replace(/\\z$/, '$');
        const re = new RegExp(source, flags.includes('i') ? 'iu' : 'u');
        return values.some((v) => typeof v === 'string' && re.test(v));
      }
      case '$elemMatch': {
        const raw = valuesAt(doc, field).values.filter(Array.isArray) as unknown[][];
        return raw.some((array) =>
          array.some((element) => isObject(element) && matches(element, operand as Doc)),
        );
      }
      default:
        throw new Error(`mongo-match: unsupported operator ${op}`);
    }
  });
}

export function matches(doc: Doc, query: Doc): boolean {
  return Object.entries(query).every(([field, condition]) => {
    switch (field) {
      case '$and':
        return (condition as Doc[]).every((q) => matches(doc, q));
      case '$or':
        return (condition as Doc[]).some((q) => matches(doc, q));
      case '$nor':
        return !(condition as Doc[]).some((q) => matches(doc, q));
      default:
        return matchCondition(doc, field, condition);
    }
  });
}
