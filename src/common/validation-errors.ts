import { BadRequestException, HttpStatus } from '@nestjs/common';
import { ValidationError } from 'class-validator';

/** One refused field of a request: its path (`chunks.0.text`) and what is wrong with it. */
export interface FieldError {
  field: string;
  message: string;
}

/**
 * The field errors of a class-validator tree, named by their paths as Nest names them (`chunks.0.text must …`). A
 * field that is missing altogether gets one message, `<field> is required`, rather than the rules its value would
 * have had to meet.
 */
export function fieldErrors(errors: ValidationError[], parent = ''): FieldError[] {
  return errors.flatMap((error) => {
    const field = parent ? `${parent}.${error.property}` : error.property;
    const constraints = Object.values(error.constraints ?? {});
    const own: FieldError[] =
      constraints.length > 0 && isMissing(error)
        ? [{ field, message: `${field} is required` }]
        : constraints.map((message) => ({ field, message: parent ? `${parent}.${message}` : message }));
    return [...own, ...fieldErrors(error.children ?? [], field)];
  });
}

/** Undefined where the object has no such key; whitelist errors (a key that should not exist) have their value. */
const isMissing = (error: ValidationError) =>
  error.value === undefined && !(error.constraints && 'whitelistValidation' in error.constraints);

/**
 * The 400 of every validation failure: `message` is always one string (the field errors joined by "; "), and the
 * field errors come apart in `errors` (see ErrorResponseDto).
 */
export function validationException(errors: ValidationError[]): BadRequestException {
  const fields = fieldErrors(errors);
  const message = fields.map((error) => error.message).join('; ') || 'Bad Request';
  return new BadRequestException({ statusCode: HttpStatus.BAD_REQUEST, message, error: 'Bad Request', errors: fields });
}
