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
  private readonly detached = new AsyncLocalStorage<Map<string, unknown[]>>();

  async transform(value: unknown, metadata: ArgumentMetadata): Promise<unknown> {
    const sliced = slicedOf(metadata.metatype);
    if (sliced.size === 0 || !isPlainObject(value)) return super.transform(value, metadata);
    const arrays = new Map(
      [...sliced.keys()].filter((p) => Array.isArray(value[p])).map((p) => [p, value[p] as unknown[]]),
    );
    const rest = { ...value, ...Object.fromEntries([...arrays.keys()].map((p) => [p, []])) };
    return this.detached.run(arrays, () => super.transform(rest, metadata));
  }

  protected async validate(object: object, options?: ValidatorOptions): Promise<ValidationError[]> {
    const sliced = slicedOf(object.constructor);
    // Nest also calls this with a `{constructor}` stand-in to ask whether a class has rules at all.
    if (sliced.size === 0 || Object.getPrototypeOf(object) === Object.prototype) return super.validate(object, options);
    const target = object as Record<string, unknown>;
    for (const [property, items] of this.detached.getStore() ?? []) target[property] = items;
    const errors = await super.validate(object, options);
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
        this.stripProtoKeys(item);
        const instance = plainToInstance(type, item, this.transformOptions);
        instances.push(instance);
        const children = await super.validate(instance, options);
        if (children.length > 0) errors.push(error(String(index), children));
      }
    }
    return { instances, errors };
  }
}
