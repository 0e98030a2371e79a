import {
  ArgumentMetadata,
  BadRequestException,
  createParamDecorator,
  ExecutionContext,
  Injectable,
  PipeTransform,
} from '@nestjs/common';
import { ApiParam } from '@nestjs/swagger';
import { Request } from 'express';
import { MAX_ID } from './validation';

/**
 * Path ids are bigint identities: decimal digits only, from 1 to MAX_ID, else 400 naming the parameter. Number()
 * alone would read `0x10`, `1e3`, ` 1` (or `%201`) and `1.0` as ids; leading zeros are refused too, so one id has
 * one spelling.
 */
@Injectable()
export class ParseIdPipe implements PipeTransform<string, number> {
  transform(value: string, metadata: ArgumentMetadata): number {
    if (!/^[1-9]\d{0,15}$/.test(value) || Number(value) > MAX_ID) {
      throw new BadRequestException(`${metadata.data ?? 'id'} must be an integer from 1 to ${MAX_ID}`);
    }
    return Number(value);
  }
}

/** The path parameter as the client sent it, a string: a custom decorator, so the global ValidationPipe skips it. */
const RawPathParam = createParamDecorator(
  (name: string, context: ExecutionContext): string =>
    context.switchToHttp().getRequest<Request>().params[name] as string,
);

/**
 * A path id, checked by ParseIdPipe. Not `@Param('id', ParseIdPipe)`: the global ValidationPipe (transform: true)
 * runs first on a parameter typed `number` and turns the string into Number(value), so `0x10` would reach the pipe
 * as 16 and pass. Swagger does not see custom decorators, so this documents the parameter itself.
 */
export function IdParam(name = 'id'): ParameterDecorator {
  return (target, method, index) => {
    RawPathParam(name, ParseIdPipe)(target, method, index);
    const documented = ApiParam({ name, required: true, schema: { type: 'integer', minimum: 1, maximum: MAX_ID } });
    documented(target, method!, Object.getOwnPropertyDescriptor(target, method!)!);
  };
}
