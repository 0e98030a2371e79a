import { applyDecorators, ValidationPipe } from '@nestjs/common';
import { Type } from 'class-transformer';
import { ValidationError, ValidatorOptions } from 'class-validator';

/**
 * Validating 10,000 nested items in one go holds the event loop for a quarter of a second or more (class-validator
 * is synchronous underneath its promise), long enough to fail a liveness probe with a few such requests. The items
 * of a property marked with ValidateEachInSlices are validated SLICE_ITEMS at a time instead, with the event loop
 * free between slices, and their errors are named exactly as ValidateNested names them (`chunks.3.text …`).
 */
export const SLICE_ITEMS = 256;

const SLICED = Symbol('sliced-array-properties');

type Class = new (...args: never[]) => object;

/** Like `@ValidateNested({ each: true }) @Type(type)` on an array property, validated in slices. */
export function ValidateEachInSlices(type: () => Class): PropertyDecorator {
  const mark: PropertyDecorator = (target, property) => {
    const known: (string | symbol)[] = Reflect.getMetadata(SLICED, target.constructor) ?? [];
    Reflect.defineMetadata(SLICED, [...known, property], target.constructor);
  };
  return applyDecorators(Type(type), mark);
}

const slicedProperties = (object: object): string[] => Reflect.getMetadata(SLICED, object.constructor) ?? [];

/** A class-validator error for `property` (the tree Nest's ValidationPipe flattens into `a.0.b …` messages). */
const error = (property: string, children: ValidationError[], constraints?: Record<string, string>) =>
  Object.assign(new ValidationError(), { property, children, constraints });

const yieldToEventLoop = () => new Promise<void>((resolve) => setImmediate(resolve));

/** The ValidationPipe, with the items of sliced properties validated a slice at a time. */
export class SlicedValidationPipe extends ValidationPipe {
  protected async validate(object: object, options?: ValidatorOptions): Promise<ValidationError[]> {
    const errors = await super.validate(object, options);
    for (const property of slicedProperties(object)) {
      const items = (object as Record<string, unknown>)[property];
      if (!Array.isArray(items)) continue;
      const children = await this.validateItems(items, options);
      if (children.length > 0) errors.push(error(property, children));
    }
    return errors;
  }

  /** One error per bad item, as ValidateNested gives them: the item's index as the property. */
  private async validateItems(items: unknown[], options?: ValidatorOptions): Promise<ValidationError[]> {
    const found: ValidationError[] = [];
    for (let start = 0; start < items.length; start += SLICE_ITEMS) {
      if (start > 0) await yieldToEventLoop();
      for (let index = start; index < Math.min(start + SLICE_ITEMS, items.length); index++) {
        const item = items[index];
        const property = String(index);
        if (item === null || typeof item !== 'object' || Array.isArray(item)) {
          found.push(error(property, [], { isObject: `${property} must be an object` }));
          continue;
        }
        const children = await super.validate(item, options);
        if (children.length > 0) found.push(error(property, children));
      }
    }
    return found;
  }
}
