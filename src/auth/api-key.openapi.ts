import { INestApplication, Type } from '@nestjs/common';
import { MetadataScanner, ModulesContainer, Reflector } from '@nestjs/core';
import { OpenAPIObject } from '@nestjs/swagger';
import { Handler, isPublicRoute } from './public.decorator';

type Operation = NonNullable<OpenAPIObject['paths'][string]['get']>;

/** Operation ids as `Controller_method`, so a document operation can be traced back to its handler. */
export const operationId = (controller: string, method: string) => `${controller}_${method}`;

/**
 * The document requires the key everywhere (its global security requirement); open routes, found with the guard's
 * own isPublicRoute, get an empty requirement (no lock in Swagger UI) and lose the 401 they can never answer.
 */
export function markOpenRoutes(app: INestApplication, document: OpenAPIObject): void {
  const open = openOperationIds(app);
  for (const item of Object.values(document.paths)) {
    for (const operation of Object.values(item) as (Operation | undefined)[]) {
      if (!operation?.operationId || !open.has(operation.operationId)) continue;
      operation.security = [];
      delete operation.responses?.['401'];
    }
  }
}

function openOperationIds(app: INestApplication): Set<string> {
  const reflector = app.get(Reflector);
  const scanner = new MetadataScanner();
  const open = new Set<string>();
  for (const module of app.get(ModulesContainer).values()) {
    for (const { metatype } of module.controllers.values()) {
      const controller = metatype as Type<unknown>;
      const handlers = controller.prototype as Record<string, Handler>;
      for (const method of scanner.getAllMethodNames(handlers)) {
        if (isPublicRoute(reflector, handlers[method], controller)) {
          open.add(operationId(controller.name, method));
        }
      }
    }
  }
  return open;
}
