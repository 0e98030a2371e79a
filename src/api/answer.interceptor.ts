import {
  CallHandler,
  createParamDecorator,
  ExecutionContext,
  Injectable,
  NestInterceptor,
  StreamableFile,
} from '@nestjs/common';
import { Request, Response } from 'express';
import { Readable } from 'node:stream';
import { map, Observable } from 'rxjs';
import { jsonSlices } from '../common/json-slices';
import { MemoryBudget } from '../common/memory-budget';
import { AppConfig } from '../config/app-config';
import { AnswerAdmission } from './answer-admission';

/** Answers up to this size are sent as Nest sends any answer; larger ones in slices (see jsonSlices). */
const STREAM_FROM_BYTES = 1024 * 1024;

const ADMISSION = Symbol('answer admission');
type AdmittedRequest = Request & { [ADMISSION]?: AnswerAdmission };

/**
 * The answer budgets of the embedding and tokenizer routes: gives each request its AnswerAdmission (the handler
 * takes it with @Admission()), and sends an admitted answer over STREAM_FROM_BYTES as JSON slices.
 */
@Injectable()
export class AnswerInterceptor implements NestInterceptor {
  constructor(
    private readonly budget: MemoryBudget,
    private readonly config: AppConfig,
  ) {}

  intercept(context: ExecutionContext, next: CallHandler): Observable<unknown> {
    const http = context.switchToHttp();
    const admission = new AnswerAdmission(
      this.budget,
      this.config.memory.responseLimitBytes,
      http.getResponse<Response>(),
    );
    http.getRequest<AdmittedRequest>()[ADMISSION] = admission;
    return next
      .handle()
      .pipe(map((answer: unknown) => (admission.bytes > STREAM_FROM_BYTES ? sliced(answer) : answer)));
  }
}

function sliced(answer: unknown): StreamableFile {
  return new StreamableFile(Readable.from(jsonSlices(answer)), { type: 'application/json; charset=utf-8' });
}

/** The request's AnswerAdmission (the handler's controller must use AnswerInterceptor). */
export const Admission = createParamDecorator((_: unknown, context: ExecutionContext): AnswerAdmission => {
  const admission = context.switchToHttp().getRequest<AdmittedRequest>()[ADMISSION];
  if (!admission) throw new Error('@Admission() needs AnswerInterceptor on its controller');
  return admission;
});
