import { ArgumentMetadata, BadRequestException, Injectable, PipeTransform } from '@nestjs/common';
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
