import { Logger } from 'nestjs-pino';
import { NestFactory } from '@nestjs/core';
import { NestExpressApplication } from '@nestjs/platform-express';
import { AppModule } from './app.module';
import { setupSwagger } from './app.swagger';
import { AppConfig } from './config/app-config';
import { jsonBodyParser } from './common/json-body';
import { keyBeforeBody } from './auth/key-before-body';
import { SlicedValidationPipe } from './common/sliced-validation';
import { validationException } from './common/validation-errors';

/** Builds the configured application without listening, so main.ts and the end-to-end tests share one set-up. */
export async function createApp(config: AppConfig): Promise<NestExpressApplication> {
  const app = await NestFactory.create<NestExpressApplication>(AppModule.forRoot(config), {
    bodyParser: false,
    abortOnError: false,
    // Held until pino takes over below, so start-up lines come out in the configured format too.
    bufferLogs: true,
  });
  app.useLogger(app.get(Logger));
  // The key is checked before any byte of the body is read (see key-before-body.ts).
  app.use(keyBeforeBody(config.http.apiKey));
  app.use(jsonBodyParser({ bodyLimit: config.http.bodyLimit, maxJsonValues: config.http.maxJsonValues }));
  app.useGlobalPipes(
    new SlicedValidationPipe({
      whitelist: true,
      forbidNonWhitelisted: true,
      transform: true,
      exceptionFactory: validationException,
    }),
  );
  setupSwagger(app);
  await app.init();
  return app;
}
