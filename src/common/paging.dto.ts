import { ApiProperty } from '@nestjs/swagger';
import { IntQueryField, MAX_ID } from './validation';

export const MAX_PAGE_SIZE = 1000;

export class PageQueryDto {
  @IntQueryField({ description: 'Items per page', optional: true, min: 1, max: MAX_PAGE_SIZE, default: 50 })
  limit: number = 50;

  @IntQueryField({
    description: 'Items to skip: the database reads them all, so prefer `after` (the `next` link) for deep pages',
    optional: true,
    min: 0,
    max: MAX_ID,
    default: 0,
  })
  offset: number = 0;
}

export class PageMetaDto {
  @ApiProperty({ description: 'Items matching the filter, over all pages' })
  total: number;

  @ApiProperty()
  limit: number;

  @ApiProperty()
  offset: number;

  @ApiProperty({
    type: String,
    nullable: true,
    description: 'Path and query of the next page (keyset: `after` the last item), null on the last page',
    example: '/tasks?limit=50&after=1234',
  })
  next: string | null;
}

export interface Page<T> {
  items: T[];
  total: number;
  limit: number;
  offset: number;
  next: string | null;
}

/** `path?query` of a page, leaving out unset values. */
export function pageLink(path: string, query: Record<string, string | number | undefined>): string {
  const params = new URLSearchParams();
  for (const [key, value] of Object.entries(query)) if (value !== undefined) params.set(key, String(value));
  return `${path}?${params.toString()}`;
}
