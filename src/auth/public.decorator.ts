import { SetMetadata } from '@nestjs/common';

export const IS_PUBLIC = 'isPublic';

/** Marks a controller or handler as open without the API key (health checks). */
export const Public = () => SetMetadata(IS_PUBLIC, true);
