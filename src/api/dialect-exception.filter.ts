import { ArgumentsHost, Catch } from '@nestjs/common';
import { Request } from 'express';
import { AppExceptionFilter } from './app-exception.filter';
import { OpenAiExceptionFilter } from './openai/openai-exception.filter';
import { TeiCompatExceptionFilter } from './tei-compat/tei-compat-exception.filter';

/** The paths of the TEI-compatible controllers (tei-compat/*.controller.ts). */
const TEI_PATHS = new Set([
  '/',
  '/invocations',
  '/embed',
  '/embed_all',
  '/embed_sparse',
  '/similarity',
  '/tokenize',
  '/decode',
  '/info',
  '/health',
  '/ping',
]);

const isOpenAiPath = (path: string) => path === '/embeddings' || path.startsWith('/v1/');

/**
 * Errors raised before a route is matched (a body that is not JSON or is over HTTP_BODY_LIMIT, a path that does not
 * exist) reach global filters only, not the dialects' own. On the OpenAI and TEI paths this answers them in that
 * dialect's body, which its clients read; anywhere else as the service's global filter does (503 while the database
 * is unavailable, errors logged without their values).
 */
@Catch()
export class DialectExceptionFilter extends AppExceptionFilter {
  private readonly openAi = new OpenAiExceptionFilter();
  private readonly tei = new TeiCompatExceptionFilter();

  catch(exception: unknown, host: ArgumentsHost): void {
    const { path } = host.switchToHttp().getRequest<Request>();
    if (isOpenAiPath(path)) return this.openAi.catch(exception, host);
    if (TEI_PATHS.has(path)) return this.tei.catch(exception, host);
    return super.catch(exception, host);
  }
}
