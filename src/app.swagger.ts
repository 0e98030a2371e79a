import { INestApplication } from '@nestjs/common';
import { DocumentBuilder, OpenAPIObject, SwaggerModule } from '@nestjs/swagger';
import { markOpenRoutes, operationId } from './auth/api-key.openapi';
import { AppConfig, configuredModelIds } from './config/app-config';
import { packageVersion } from './config/package-version';

/** The model every example of the DTOs is written for (the README's); the document names a served one instead. */
export const EXAMPLE_MODEL = 'sentence-transformers/all-MiniLM-L6-v2';

/** One tag per route, in the order a reader meets the service: its main job first, operations last. */
export const API_TAGS: readonly [name: string, description: string][] = [
  ['tasks', 'Work to embed: a task holds chunks; create, follow, cancel, retry or delete it'],
  ['chunks', 'A chunk with its status in each task, and its stored vector'],
  ['embeddings', 'Embed text on request (this service’s own routes)'],
  ['openai', 'OpenAI-compatible embeddings and model list, for OpenAI’s SDKs'],
  ['tei', 'Hugging Face Text Embeddings Inference-compatible routes, for TEI clients'],
  ['receiver', 'The built-in receiver that stores delivered vectors'],
  ['search', 'The chunks nearest to a text or a vector, from the stored vectors; pgvector indexes'],
  ['health', 'Liveness and readiness probes (open without the key)'],
  ['metrics', 'Prometheus scrape target (open without the key)'],
];

export function buildOpenApiDocument(app: INestApplication): OpenAPIObject {
  const builder = new DocumentBuilder()
    .setTitle('embedding-tasks')
    .setDescription(
      'Turns text chunks stored in PostgreSQL into embeddings and delivers every vector exactly once. ' +
        'When API_KEY is set, send it as a Bearer token or in the x-api-key header (routes with a lock).',
    )
    .setVersion(packageVersion())
    // The key is an opaque string, not a JWT (addBearerAuth() would declare bearerFormat: JWT).
    .addSecurity('bearer', { type: 'http', scheme: 'bearer', description: 'The API_KEY, as a Bearer token' })
    .addApiKey({ type: 'apiKey', in: 'header', name: 'x-api-key' }, 'x-api-key')
    .addSecurityRequirements('bearer')
    .addSecurityRequirements('x-api-key');
  for (const [name, description] of API_TAGS) builder.addTag(name, description);
  // No automatic controller-name tags: a controller whose routes carry their own tags would add a second one.
  const document = SwaggerModule.createDocument(app, builder.build(), {
    operationIdFactory: operationId,
    autoTagControllers: false,
  });
  markOpenRoutes(app, document);
  return withServedModel(document, configuredModelIds(app.get(AppConfig))[0]);
}

/**
 * The examples name the first model this instance serves, so "Try it out" works as shown; an instance that serves
 * none keeps the README's model. The examples are written once, in the DTOs, for EXAMPLE_MODEL.
 */
export function withServedModel(document: OpenAPIObject, model: string | undefined): OpenAPIObject {
  if (!model || model === EXAMPLE_MODEL) return document;
  const text = JSON.stringify(document).replaceAll(JSON.stringify(EXAMPLE_MODEL), JSON.stringify(model));
  return JSON.parse(text) as OpenAPIObject;
}

/**
 * Swagger UI at /apidocs, the JSON document at /apidocs-json; the same again where TEI serves them (/docs and
 * /api-doc/openapi.json). All stay open when API_KEY is set.
 */
export function setupSwagger(app: INestApplication): void {
  SwaggerModule.setup('apidocs', app, () => buildOpenApiDocument(app), { jsonDocumentUrl: 'apidocs-json' });
  SwaggerModule.setup('docs', app, () => buildOpenApiDocument(app), { jsonDocumentUrl: 'api-doc/openapi.json' });
}
