import { ApiProperty } from '@nestjs/swagger';
import { IntField } from './validation';

export const MAX_PAGE_SIZE = 1000;

export class PageQueryDto {
  @IntField({ description: 'Items per page', optional: true, min: 1, max: MAX_PAGE_SIZE, default: 50 })
  limit: number = 50;

  @IntField({ description: 'Items to skip', optional: true, min: 0, default: 0 })
  offset: number = 0;
}

export class PageMetaDto {
  @ApiProperty({ description: 'Items matching the filter, over all pages' })
  total: number;

  @ApiProperty()
  limit: number;

  @ApiProperty()
  offset: number;
}

export interface Page<T> {
  items: T[];
  total: number;
  limit: number;
  offset: number;
}
