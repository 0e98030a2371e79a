import fc from 'fast-check';

/** The parts of an OpenAPI 3 schema the service's document uses. */
export interface Schema {
  $ref?: string;
  type?: string;
  enum?: unknown[];
  oneOf?: Schema[];
  anyOf?: Schema[];
  allOf?: Schema[];
  items?: Schema;
  properties?: Record<string, Schema>;
  required?: string[];
  minimum?: number;
  maximum?: number;
  maxLength?: number;
  additionalProperties?: boolean | Schema;
}

export type Components = Record<string, Schema>;

/** An object `levels` deep: `{a: {a: … 1}}`. */
export function nested(levels: number): unknown {
  let value: unknown = 1;
  for (let i = 0; i < levels; i++) value = { a: value };
  return value;
}

/**
 * Values no field should take as they are, or only some fields: NUL, lone surrogates, numbers past int32, 2^53 and
 * bigint, fractions, numbers in strings, wrong types and deep nesting.
 */
export const hostileValue: fc.Arbitrary<unknown> = fc.oneof(
  fc.constantFrom('a\u0000b', '\ud800', 'x\udfffy', '', ' ', '0x10', '1e3', ' 1', '5', 'true', 'x'.repeat(3000)),
  fc.constantFrom(
    -1,
    0,
    1.5,
    -0.5,
    2 ** 31,
    2 ** 53,
    2 ** 53 + 2,
    2 ** 63 /* int64's largest, as a double */,
    1e20,
    -1e20,
    1e308,
  ),
  fc.constantFrom(true, false, null, [], {}, [[[1]]], { a: '\u0000' }, { '\u0000': 1 }, nested(40), nested(70)),
  fc.jsonValue({ maxDepth: 3 }),
);

const leaf = (valid: fc.Arbitrary<unknown>) =>
  fc.oneof({ weight: 4, arbitrary: valid }, { weight: 1, arbitrary: hostileValue });

function resolve(schema: Schema, components: Components): Schema {
  return schema.$ref ? components[schema.$ref.replace('#/components/schemas/', '')] : schema;
}

/** Valid values of `schema` (small ones), now and then replaced by a hostile value, unknown fields added. */
export function fromSchema(input: Schema, components: Components, depth = 0): fc.Arbitrary<unknown> {
  const schema = resolve(input, components);
  if (depth > 6) return fc.constant(null);
  const next = (child: Schema) => fromSchema(child, components, depth + 1);
  if (schema.allOf) return next(schema.allOf[0]);
  const variants = schema.oneOf ?? schema.anyOf;
  if (variants) return fc.oneof(...variants.map(next));
  if (schema.enum) return leaf(fc.constantFrom(...schema.enum));
  switch (schema.type) {
    case 'string':
      return leaf(fc.string({ minLength: 0, maxLength: Math.min(schema.maxLength ?? 40, 40) }));
    case 'integer': {
      const min = Math.max(schema.minimum ?? -1000, -(2 ** 31));
      const max = Math.min(schema.maximum ?? 1000, 2 ** 31);
      // Small ids name rows that exist, so valid requests reach the database too.
      return leaf(fc.oneof(fc.integer({ min: Math.max(min, 0), max: Math.min(max, 8) }), fc.integer({ min, max })));
    }
    case 'number':
      return leaf(fc.double({ min: -1000, max: 1000, noNaN: true }));
    case 'boolean':
      return leaf(fc.boolean());
    case 'array':
      return leaf(fc.array(schema.items ? next(schema.items) : fc.jsonValue({ maxDepth: 2 }), { maxLength: 4 }));
    case 'object':
    default:
      return objectOf(schema, next);
  }
}

function objectOf(schema: Schema, next: (child: Schema) => fc.Arbitrary<unknown>): fc.Arbitrary<unknown> {
  const properties = schema.properties;
  if (!properties)
    return leaf(fc.dictionary(fc.string({ maxLength: 8 }), fc.jsonValue({ maxDepth: 2 }), { maxKeys: 3 }));
  const record = fc.record(
    // `model` is the one served (else every valid body would be refused for naming a model that is not).
    Object.fromEntries(
      Object.entries(properties).map(([key, child]) => [
        key,
        key === 'model' ? leaf(fc.constant('tiny')) : next(child),
      ]),
    ),
    { requiredKeys: (schema.required ?? []).filter((key) => key in properties) },
  );
  const unknownField = fc.option(fc.tuple(fc.constantFrom('color', '__proto__x', 'x\u0000'), hostileValue), {
    freq: 5,
  });
  return leaf(
    fc.tuple(record, unknownField).map(([value, extra]) => (extra ? { ...value, [extra[0]]: extra[1] } : value)),
  );
}

/** Every place in a JSON value (iteratively): paths of keys and indexes. */
function places(value: unknown): (string | number)[][] {
  const found: (string | number)[][] = [];
  const stack: { value: unknown; path: (string | number)[] }[] = [{ value, path: [] }];
  for (let node = stack.pop(); node; node = stack.pop()) {
    found.push(node.path);
    if (node.value === null || typeof node.value !== 'object') continue;
    for (const [key, child] of Object.entries(node.value)) {
      stack.push({ value: child, path: [...node.path, Array.isArray(node.value) ? Number(key) : key] });
    }
  }
  return found;
}

/** A known-good value with one place (anywhere, the root included) replaced by a hostile value. */
export function mutated(examples: unknown[]): fc.Arbitrary<unknown> {
  return fc.tuple(fc.constantFrom(...examples), fc.nat(), hostileValue).map(([example, pick, hostile]) => {
    const copy = structuredClone(example);
    const all = places(copy);
    const path = all[pick % all.length];
    if (path.length === 0) return hostile;
    let holder = copy as Record<string | number, unknown>;
    for (const key of path.slice(0, -1)) holder = holder[key] as Record<string | number, unknown>;
    holder[path[path.length - 1]] = hostile;
    return copy;
  });
}
