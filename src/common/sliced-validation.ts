import { applyDecorators, ArgumentMetadata, ValidationPipe } from '@nestjs/common';
import { ClassConstructor, plainToInstance, Type } from 'class-transformer';
import { ValidationError, ValidatorOptions } from 'class-validator';
import { AsyncLocalStorage } from 'node:async_hooks';

/**
 * Transforming and validating 10,000 nested items in one go holds the event loop for a quarter of a second or more
 * (class-transformer and class-validator are synchronous underneath their promises), long enough to fail a
 * liveness probe. The items of a property marked with ValidateEachInSlices are transformed and validated
 * SLICE_ITEMS at a time instead, with the event loop free between slices, and their errors are named exactly as
 * ValidateNested names them (`chunks.3.text …`).
 */
export const SLICE_ITEMS = 256;

const SLICED = Symbol('sliced-array-properties');
const VERBATIM = Symbol('verbatim-properties');

/**
 * Keys that Nest's ValidationPipe deletes from a body before class-transformer sees it (assigned to an object, a
 * `__proto__` key would set its prototype). Refused instead, as any key a body may not hold.
 */
const PROTO_KEYS = ['__proto__', 'constructor'];

type Class = ClassConstructor<object>;
type Sliced = Map<string, () => Class>;

/** Like `@ValidateNested({ each: true }) @Type(type)` on an array property, transformed and validated in slices. */
export function ValidateEachInSlices(type: () => Class): PropertyDecorator {
  const mark: PropertyDecorator = (target, property) => {
    const known =
      (Reflect.getMetadata(SLICED, target.constructor) as Sliced | undefined) ?? new Map<string, () => Class>();
    Reflect.defineMetadata(SLICED, new Map([...known, [String(property), type]]), target.constructor);
  };
  // Type documents the item class to class-transformer's readers; the arrays never reach its recursion (see below).
  return applyDecorators(Type(type), mark);
}

/**
 * A property whose value is kept exactly as parsed (free JSON such as metadata): class-transformer never copies it
 * (it would drop keys named like Object.prototype's methods, `toString` or `valueOf`, and Nest would delete
 * `__proto__` and `constructor`); its validators see the parsed value itself.
 */
export function Verbatim(): PropertyDecorator {
  return (target, property) => {
    const known = (Reflect.getMetadata(VERBATIM, target.constructor) as string[] | undefined) ?? [];
    Reflect.defineMetadata(VERBATIM, [...known, String(property)], target.constructor);
  };
}

const verbatimOf = (target: unknown): string[] =>
  (typeof target === 'function' && (Reflect.getMetadata(VERBATIM, target) as string[] | undefined)) || [];

/** `value` without the given keys, copied without assignment (so a `__proto__` key stays a plain key). */
const without = (value: Record<string, unknown>, keys: string[]) =>
  Object.fromEntries(Object.entries(value).filter(([key]) => !keys.includes(key)));

/** The verbatim properties `value` holds, to put back on its instance. */
const takeVerbatim = (value: Record<string, unknown>, keys: string[]) =>
  new Map(keys.filter((key) => Object.hasOwn(value, key)).map((key) => [key, value[key]]));

/** forbidNonWhitelisted's own error, for a `__proto__` or `constructor` key of `value`. */
const protoKeyErrors = (value: Record<string, unknown>) =>
  PROTO_KEYS.filter((key) => Object.hasOwn(value, key)).map((key) =>
    error(key, [], { whitelistValidation: `property ${key} should not exist` }),
  );

/** What transform() takes off a body, for validate() to put back or report. */
interface Detached {
  values: Map<string, unknown>;
  errors: ValidationError[];
}

const slicedOf = (target: unknown): Sliced =>
  (typeof target === 'function' && (Reflect.getMetadata(SLICED, target) as Sliced | undefined)) ||
  new Map<string, () => Class>();

const yieldToEventLoop = () => new Promise<void>((resolve) => setImmediate(resolve));

/** A class-validator error for `property` (the tree Nest's ValidationPipe flattens into `a.0.b …` messages). */
const error = (property: string, children: ValidationError[], constraints?: Record<string, string>, value?: unknown) =>
  Object.assign(new ValidationError(), { property, children, constraints, value });

const isPlainObject = (value: unknown): value is Record<string, unknown> =>
  value !== null && typeof value === 'object' && !Array.isArray(value);

/**
 * The ValidationPipe, with sliced arrays kept out of its one-go transformation: they are taken off the body, the
 * rest is transformed as usual, and they are put back (as they came) just before validation, so the array's own
 * rules (IsArray, ArrayMaxSize, uniqueness) still apply to them; then their items are transformed and validated a
 * slice at a time.
 */
export class SlicedValidationPipe extends ValidationPipe {
  private readonly detached = new AsyncLocalStorage<Detached>();

  async transform(value: unknown, metadata: ArgumentMetadata): Promise<unknown> {
    const { metatype, type } = metadata;
    if (type !== 'body' || !isPlainObject(value) || !this.toValidate(metadata)) return super.transform(value, metadata);
    const sliced = slicedOf(metatype);
    const arrays = [...sliced.keys()].filter((p) => Array.isArray(value[p])).map((p) => [p, value[p]] as const);
    const verbatim = takeVerbatim(value, verbatimOf(metatype));
    const rest = {
      ...without(value, [...verbatim.keys(), ...PROTO_KEYS]),
      ...Object.fromEntries(arrays.map(([p]) => [p, []])),
    };
    const detached = { values: new Map([...arrays, ...verbatim]), errors: protoKeyErrors(value) };
    return this.detached.run(detached, () => super.transform(rest, metadata));
  }

  protected async validate(object: object, options?: ValidatorOptions): Promise<ValidationError[]> {
    const detached = this.detached.getStore();
    // Nest also calls this with a `{constructor}` stand-in to ask whether a class has rules at all.
    if (!detached || Object.getPrototypeOf(object) === Object.prototype) return super.validate(object, options);
    const sliced = slicedOf(object.constructor);
    const target = object as Record<string, unknown>;
    for (const [property, kept] of detached.values) target[property] = kept;
    const errors = [...detached.errors, ...(await super.validate(object, options))];
    for (const [property, type] of sliced) {
      const items = target[property];
      if (!Array.isArray(items)) continue;
      const { instances, errors: itemErrors } = await this.eachInSlices(items, type(), options);
      target[property] = instances;
      if (itemErrors.length > 0) errors.push(error(property, itemErrors));
    }
    return errors;
  }

  /** Each item as an instance of `type`, and one error per bad item, as ValidateNested gives them. */
  private async eachInSlices(items: unknown[], type: Class, options?: ValidatorOptions) {
    const instances: unknown[] = [];
    const errors: ValidationError[] = [];
    for (let start = 0; start < items.length; start += SLICE_ITEMS) {
      if (start > 0) await yieldToEventLoop();
      for (let index = start; index < Math.min(start + SLICE_ITEMS, items.length); index++) {
        const item = items[index];
        if (!isPlainObject(item)) {
          instances.push(item);
          errors.push(error(String(index), [], { isObject: `${index} must be an object` }, item));
          continue;
        }
        const verbatim = takeVerbatim(item, verbatimOf(type));
        const instance = plainToInstance(
          type,
          without(item, [...verbatim.keys(), ...PROTO_KEYS]),
          this.transformOptions,
        );
        for (const [property, kept] of verbatim) (instance as Record<string, unknown>)[property] = kept;
        instances.push(instance);
        const children = [...protoKeyErrors(item), ...(await super.validate(instance, options))];
        if (children.length > 0) errors.push(error(String(index), children));
      }
    }
    return { instances, errors };
  }
}
