import { Body, Type, ValidationPipe } from '@nestjs/common';
import { validationException } from '../../common/validation-errors';

/**
 * A TEI request body, validated against `type` but with unknown fields dropped rather than refused: TEI's serde
 * structs do not deny unknown fields, and clients (Hugging Face's own) send extra ones. The handler declares the
 * body `unknown`, so the global pipe, which refuses unknown fields, leaves it alone.
 */
export function teiBodyPipe<T>(type: Type<T>): ValidationPipe {
  return new ValidationPipe({
    whitelist: true,
    forbidNonWhitelisted: false,
    transform: true,
    expectedType: type,
    exceptionFactory: validationException,
  });
}

export const TeiBody = <T>(type: Type<T>): ParameterDecorator => Body(teiBodyPipe(type));

/** The body of `POST /` as `type`, for a handler that picks the type from the body itself. */
export function parseTeiBody<T>(body: unknown, type: Type<T>): Promise<T> {
  return teiBodyPipe(type).transform(body, { type: 'body', metatype: type });
}
