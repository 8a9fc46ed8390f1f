import type { INestApplication } from '@nestjs/common';
import { DocumentBuilder, type OpenAPIObject, SwaggerModule } from '@nestjs/swagger';

/** Builds the OpenAPI document from the code. */
export function buildOpenApiDocument(app: INestApplication): OpenAPIObject {
  const config = new DocumentBuilder()
    .setTitle('Healthcare API')
    .setDescription(
      'Patients, doctors and who treats whom. Errors are application/problem+json (RFC 9457). ' +
        'Lists are cursor-paginated: follow `next` and `previous`.',
    )
    .setVersion('1.0.0')
    .addBearerAuth({ type: 'http', scheme: 'bearer', bearerFormat: 'JWT' })
    .build();
  return SwaggerModule.createDocument(app, config, {
    // Stable, readable operation ids for generated clients: PatientsController.list -> patientsList.
    operationIdFactory: (controllerKey: string, methodKey: string) => {
      const resource = controllerKey.replace(/Controller$/, '');
      return `${resource.charAt(0).toLowerCase()}${resource.slice(1)}${methodKey.charAt(0).toUpperCase()}${methodKey.slice(1)}`;
    },
  });
}

/** Swagger UI at /docs, the document at /docs-json. */
export function serveOpenApi(app: INestApplication): void {
  SwaggerModule.setup('docs', app, buildOpenApiDocument(app), {
    jsonDocumentUrl: 'docs-json',
    customSiteTitle: 'Healthcare API',
    swaggerOptions: { persistAuthorization: true },
  });
}
