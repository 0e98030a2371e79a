import { CanActivate, ExecutionContext, Injectable, UnauthorizedException } from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import { Request } from 'express';
import { createHash, timingSafeEqual } from 'node:crypto';
import { AppConfig } from '../config/app-config';
import { isPublicRoute } from './public.decorator';

/** When API_KEY is set, every route not marked @Public() needs it as a Bearer token or an x-api-key header. */
@Injectable()
export class ApiKeyGuard implements CanActivate {
  private readonly expected?: Buffer;

  constructor(
    private readonly reflector: Reflector,
    config: AppConfig,
  ) {
    this.expected = config.http.apiKey ? digest(config.http.apiKey) : undefined;
  }

  canActivate(context: ExecutionContext): boolean {
    if (!this.expected) return true;
    if (isPublicRoute(this.reflector, context.getHandler(), context.getClass())) return true;
    const key = presentedKey(context.switchToHttp().getRequest<Request>());
    if (!key) throw new UnauthorizedException('API key required: send Authorization: Bearer <key> or x-api-key');
    // Comparing digests keeps the comparison constant-time whatever the presented key's length.
    if (!timingSafeEqual(digest(key), this.expected)) throw new UnauthorizedException('invalid API key');
    return true;
  }
}

/** True when no API_KEY is set or the request presents it (for routes that are open but say more to the key's holder). */
export function presentsApiKey(request: Request, apiKey: string | undefined): boolean {
  if (!apiKey) return true;
  const key = presentedKey(request);
  return key !== undefined && timingSafeEqual(digest(key), digest(apiKey));
}

function presentedKey(request: Request): string | undefined {
  const header = request.headers['x-api-key'];
  if (typeof header === 'string' && header.length > 0) return header;
  const match = /^Bearer\s+(.+)$/i.exec(request.headers.authorization ?? '');
  return match?.[1];
}

const digest = (value: string) => createHash('sha256').update(value).digest();
