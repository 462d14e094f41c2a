/**
 * A typed builder of OpenAPI v3 schemas, the way a CRD's `openAPIV3Schema` spells
 * them: each builder returns the JSON schema together with (at the type level only) the
 * TypeScript type of the values it admits, so one definition yields both the CRD
 * manifest and the operator's types.
 *
 * The TypeScript type is what the operator reads back from the API server: a field with
 * a `default` is always present there (the API server fills it in before validation and
 * on every read), so it is not optional in the type, while it is not `required` in the
 * schema either. Only fields wrapped in `optional()` may be absent.
 */

/** A CEL validation rule (`x-kubernetes-validations`). */
export interface ValidationRule {
  readonly rule: string;
  readonly message: string;
  /** Where the error points, relative to the schema the rule is on (`.replicationFactor`). */
  readonly fieldPath?: string;
  readonly reason?: 'FieldValueInvalid' | 'FieldValueForbidden' | 'FieldValueRequired' | 'FieldValueDuplicate';
}

/** The subset of JSONSchemaProps that Cairn's CRDs use, with the manifest's key names. */
export interface JsonSchema {
  readonly type?: 'string' | 'integer' | 'number' | 'boolean' | 'object' | 'array';
  readonly description?: string;
  readonly format?: string;
  readonly default?: unknown;
  readonly enum?: readonly string[];
  readonly pattern?: string;
  readonly minLength?: number;
  readonly maxLength?: number;
  readonly minimum?: number;
  readonly maximum?: number;
  readonly minItems?: number;
  readonly maxItems?: number;
  readonly maxProperties?: number;
  readonly items?: JsonSchema;
  readonly properties?: Readonly<Record<string, JsonSchema>>;
  readonly required?: readonly string[];
  readonly additionalProperties?: JsonSchema;
  readonly 'x-kubernetes-preserve-unknown-fields'?: true;
  readonly 'x-kubernetes-int-or-string'?: true;
  readonly 'x-kubernetes-list-type'?: 'atomic' | 'set' | 'map';
  readonly 'x-kubernetes-list-map-keys'?: readonly string[];
  readonly 'x-kubernetes-map-type'?: 'atomic' | 'granular';
  readonly 'x-kubernetes-validations'?: readonly ValidationRule[];
}

/**
 * A schema for values of type `T`; `O` says whether the field holding it may be absent.
 * `value` is never set: it only carries `T` for `TypeOf`.
 */
export interface Schema<T, O extends boolean = false> {
  readonly json: JsonSchema;
  readonly optional: O;
  readonly value?: T;
}

export type TypeOf<S> = S extends Schema<infer T, boolean> ? T : never;

type Props = { readonly [key: string]: Schema<unknown, boolean> };
type OptionalKeys<P extends Props> = { [K in keyof P]: P[K] extends Schema<unknown, true> ? K : never }[keyof P];
type Flatten<T> = { [K in keyof T]: T[K] } & {};
export type ObjectOf<P extends Props> = Flatten<
  { readonly [K in Exclude<keyof P, OptionalKeys<P>>]: TypeOf<P[K]> } & { readonly [K in OptionalKeys<P>]?: TypeOf<P[K]> }
>;

interface Common<T> {
  readonly description: string;
  readonly default?: T;
  readonly rules?: readonly ValidationRule[];
}

function make<T>(json: JsonSchema, common: Common<T>): Schema<T> {
  return {
    json: {
      ...json,
      description: common.description,
      ...(common.default === undefined ? {} : { default: common.default }),
      ...(common.rules === undefined ? {} : { 'x-kubernetes-validations': common.rules }),
    },
    optional: false,
  };
}

export function string(options: Common<string> & { pattern?: string; minLength?: number; maxLength: number }): Schema<string> {
  const { pattern, minLength, maxLength } = options;
  return make(
    { type: 'string', ...(pattern === undefined ? {} : { pattern }), ...(minLength === undefined ? {} : { minLength }), maxLength },
    options,
  );
}

export function enumOf<const V extends string>(values: readonly V[], options: Common<V>): Schema<V> {
  return make({ type: 'string', enum: values }, options);
}

export function integer(options: Common<number> & { minimum?: number; maximum?: number; format?: 'int32' | 'int64' }): Schema<number> {
  const { minimum, maximum } = options;
  return make(
    {
      type: 'integer',
      format: options.format ?? 'int32',
      ...(minimum === undefined ? {} : { minimum }),
      ...(maximum === undefined ? {} : { maximum }),
    },
    options,
  );
}

export function boolean(options: Common<boolean>): Schema<boolean> {
  return make({ type: 'boolean' }, options);
}

/** An RFC 3339 date-time, as a string (metav1.Time). */
export function dateTime(options: Common<string>): Schema<string> {
  return make({ type: 'string', format: 'date-time' }, options);
}

export function array<T>(
  items: Schema<T>,
  options: Common<readonly T[]> & {
    minItems?: number;
    maxItems: number;
    listType?: 'atomic' | 'set' | 'map';
    listMapKeys?: readonly string[];
  },
): Schema<readonly T[]> {
  const { minItems, listType, listMapKeys } = options;
  return make(
    {
      type: 'array',
      items: items.json,
      ...(minItems === undefined ? {} : { minItems }),
      maxItems: options.maxItems,
      ...(listType === undefined ? {} : { 'x-kubernetes-list-type': listType }),
      ...(listMapKeys === undefined ? {} : { 'x-kubernetes-list-map-keys': listMapKeys }),
    },
    options,
  );
}

/** An object with the given fields; a `default` of `{}` lets the fields' own defaults apply. */
export function object<P extends Props>(
  properties: P,
  options: Omit<Common<ObjectOf<P>>, 'default'> & { default?: Readonly<Record<string, unknown>> },
): Schema<ObjectOf<P>> {
  const required = Object.entries(properties)
    .filter(([, schema]) => !schema.optional && schema.json.default === undefined)
    .map(([name]) => name);
  return make(
    {
      type: 'object',
      properties: Object.fromEntries(Object.entries(properties).map(([name, schema]) => [name, schema.json])),
      ...(required.length === 0 ? {} : { required }),
    },
    options as Common<ObjectOf<P>>,
  );
}

/** A map from strings to values (`additionalProperties`). */
export function map<T>(values: Schema<T>, options: Common<Readonly<Record<string, T>>> & { maxProperties: number }): Schema<Readonly<Record<string, T>>> {
  return make({ type: 'object', additionalProperties: values.json, maxProperties: options.maxProperties }, options);
}

/**
 * An object the API server keeps as given (a Kubernetes core type such as Affinity,
 * validated again by the API server when the operator copies it into a Pod template).
 */
export function opaque<T>(options: Common<T>): Schema<T> {
  return make({ type: 'object', 'x-kubernetes-preserve-unknown-fields': true }, options);
}

/** A resource's `metadata` at the schema's root: the API server owns its schema. */
export function objectMeta<T>(): Schema<T> {
  return { json: { type: 'object' }, optional: false };
}

/** An int-or-string field such as a resource quantity. */
export function intOrString(options: Common<number | string> & { pattern?: string }): Schema<number | string> {
  return make({ 'x-kubernetes-int-or-string': true, ...(options.pattern === undefined ? {} : { pattern: options.pattern }) }, options);
}

/** Marks a field as one that may be absent. */
export function optional<T>(schema: Schema<T>): Schema<T, true> {
  return { ...schema, optional: true };
}
