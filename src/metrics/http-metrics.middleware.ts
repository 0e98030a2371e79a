import { Injectable, NestMiddleware } from '@nestjs/common';
import { NextFunction, Request, Response } from 'express';
import { MetricsService } from './metrics.service';

/** The route label of a request that matched no route: raw URLs would make the label set unbounded. */
export const UNMATCHED_ROUTE = 'unmatched';

/**
 * Counts and times every HTTP request by method, route template and status code. A middleware rather than an
 * interceptor: interceptors run after the guards and only for matched routes, so they would miss the 401s of the
 * API key and the 404s of unknown paths. The template is the path of the Express route that handled the request
 * (`/tasks/:id`), read when the response is finished: Nest registers each handler as such a route, so it is set
 * whether a guard, a pipe or the handler answered.
 */
@Injectable()
export class HttpMetricsMiddleware implements NestMiddleware {
  constructor(private readonly metrics: MetricsService) {}

  use(request: Request, response: Response, next: NextFunction): void {
    const started = performance.now();
    response.once('finish', () => {
      const seconds = (performance.now() - started) / 1000;
      this.metrics.httpRequest(request.method, routeOf(request), response.statusCode, seconds);
    });
    next();
  }
}

/**
 * Middleware mounted for every path (nestjs-pino's, Nest's own for `forRoutes`) is registered as a wildcard route
 * too, and is the last route a request that matched no handler went through: a wildcard is no template.
 */
function routeOf(request: Request): string {
  const path = (request.route as { path?: unknown } | undefined)?.path;
  return typeof path === 'string' && !path.includes('*') ? path : UNMATCHED_ROUTE;
}
