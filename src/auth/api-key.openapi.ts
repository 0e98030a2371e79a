import { INestApplication, Type } from '@nestjs/common';
import { MetadataScanner, ModulesContainer, Reflector } from '@nestjs/core';
import { OpenAPIObject } from '@nestjs/swagger';
import { isPublicRoute } from './public.decorator';

/** Operation ids as `Controller_method`, so a document operation can be traced back to its handler. */
export const operationId = (controller: string, method: string) => `${controller}_${method}`;

/**
 * The document requires the key everywhere (its global security requirement); open routes, found with the guard's
 * own isPublicRoute, get an empty requirement (no lock in Swagger UI) and lose the 401 they can never answer.
 */
export function markOpenRoutes(app: INestApplication, document: OpenAPIObject): void {
  const open = openOperationIds(app);
  for (const item of Object.values(document.paths)) {
    for (const operation of Object.values(item)) {
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
      for (const method of scanner.getAllMethodNames(controller.prototype)) {
        if (isPublicRoute(reflector, controller.prototype[method], controller)) {
          open.add(operationId(controller.name, method));
        }
      }
    }
  }
  return open;
}
