/** Attribute data types of RFC 7643 §2.3. */
export type AttributeType =
  'string' | 'boolean' | 'decimal' | 'integer' | 'dateTime' | 'binary' | 'reference' | 'complex';
/** RFC 7643 §7 `mutability`. */
export type Mutability = 'readOnly' | 'readWrite' | 'immutable' | 'writeOnly';
/** RFC 7643 §7 `returned`. */
export type Returned = 'always' | 'never' | 'default' | 'request';
/** RFC 7643 §7 `uniqueness`. */
export type Uniqueness = 'none' | 'server' | 'global';

/** One attribute with every characteristic of RFC 7643 §7 filled in (no optional characteristics). */
export interface AttributeDefinition {
  readonly name: string;
  readonly type: AttributeType;
  readonly multiValued: boolean;
  readonly description: string;
  readonly required: boolean;
  readonly caseExact: boolean;
  readonly mutability: Mutability;
  readonly returned: Returned;
  readonly uniqueness: Uniqueness;
  readonly canonicalValues?: readonly string[];
  readonly referenceTypes?: readonly string[];
  readonly subAttributes?: readonly AttributeDefinition[];
}

/** A schema (RFC 7643 §7): core resource schemas, extensions and the meta-schemas alike. */
export interface SchemaDefinition {
  readonly id: string;
  readonly name: string;
  readonly description: string;
  readonly attributes: readonly AttributeDefinition[];
}

/** What a caller writes when declaring an attribute: omitted characteristics take the RFC 7643 §2.2 defaults. */
export interface AttributeInput {
  name: string;
  type?: AttributeType;
  multiValued?: boolean;
  description?: string;
  required?: boolean;
  caseExact?: boolean;
  mutability?: Mutability;
  returned?: Returned;
  uniqueness?: Uniqueness;
  canonicalValues?: string[];
  referenceTypes?: string[];
  subAttributes?: AttributeInput[];
}

export interface SchemaInput {
  id: string;
  name: string;
  description?: string;
  attributes: AttributeInput[];
}

/**
 * Applies the defaults of RFC 7643 §2.2 ("required" false, "caseExact" false, "mutability" readWrite,
 * "returned" default, "uniqueness" none, type string) so that every definition is complete.
 */
export function defineAttribute(input: AttributeInput): AttributeDefinition {
  const type = input.type ?? 'string';
  const def: {
    -readonly [K in keyof AttributeDefinition]: AttributeDefinition[K];
  } = {
    name: input.name,
    type,
    multiValued: input.multiValued ?? false,
    description: input.description ?? '',
    required: input.required ?? false,
    caseExact: input.caseExact ?? false,
    mutability: input.mutability ?? 'readWrite',
    returned: input.returned ?? 'default',
    uniqueness: input.uniqueness ?? 'none',
  };
  if (input.canonicalValues?.length) def.canonicalValues = [...input.canonicalValues];
  if (type === 'reference') def.referenceTypes = [...(input.referenceTypes ?? ['external'])];
  if (type === 'complex') def.subAttributes = (input.subAttributes ?? []).map(defineAttribute);
  return def;
}

export function defineSchema(input: SchemaInput): SchemaDefinition {
  return {
    id: input.id,
    name: input.name,
    description: input.description ?? '',
    attributes: input.attributes.map(defineAttribute),
  };
}
