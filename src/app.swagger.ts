import { INestApplication } from '@nestjs/common';
import { DocumentBuilder, OpenAPIObject, SwaggerModule } from '@nestjs/swagger';

export function buildOpenApiDocument(app: INestApplication): OpenAPIObject {
  const config = new DocumentBuilder()
    .setTitle('embedding-tasks')
    .setDescription(
      'Turns text chunks stored in PostgreSQL into embeddings and delivers every vector exactly once. ' +
        'When API_KEY is set, send it as a Bearer token or in the x-api-key header.',
    )
    .setVersion('0.1.0')
    .addBearerAuth()
    .addApiKey({ type: 'apiKey', in: 'header', name: 'x-api-key' }, 'x-api-key')
    .addSecurityRequirements('bearer')
    .addSecurityRequirements('x-api-key')
    .build();
  return SwaggerModule.createDocument(app, config);
}

/** Swagger UI at /apidocs, the JSON document at /apidocs-json; both stay open when API_KEY is set. */
export function setupSwagger(app: INestApplication): void {
  SwaggerModule.setup('apidocs', app, () => buildOpenApiDocument(app), { jsonDocumentUrl: 'apidocs-json' });
}
