import { ExecutionContext, SetMetadata, Type } from '@nestjs/common';
import { Reflector } from '@nestjs/core';

export const IS_PUBLIC = 'isPublic';

/** Marks a controller or handler as open without the API key (health checks). */
export const Public = () => SetMetadata(IS_PUBLIC, true);

/** A route's handler, as Nest hands it over. */
export type Handler = ReturnType<ExecutionContext['getHandler']>;

/** Whether a route is open: the guard and the OpenAPI document both ask this, so they cannot disagree. */
export function isPublicRoute(reflector: Reflector, handler: Handler, controller: Type<unknown>): boolean {
  return reflector.getAllAndOverride<boolean | undefined>(IS_PUBLIC, [handler, controller]) === true;
}
