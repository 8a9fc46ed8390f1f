import { applyDecorators, type CallHandler, type ExecutionContext, Injectable, type NestInterceptor, SetMetadata, UseInterceptors } from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import type { FastifyReply } from 'fastify';
import type { Observable } from 'rxjs';
import { map } from 'rxjs/operators';

const LOCATION = 'createdLocation';

/** The 201's Location header, for its ApiCreatedResponse. */
export const LOCATION_HEADER = {
  Location: { description: 'Where the new record is read: its path, e.g. /api/patients/<id>/.', schema: { type: 'string', example: '/api/patients/3f1c9a52-8d2e-4b61-9d7a-0c5e2f8b1a44/' } },
};

/** Sets `Location: <base><id>/` from the created record's id (RFC 9110, 10.2.2). */
@Injectable()
export class LocationInterceptor implements NestInterceptor {
  constructor(private readonly reflector: Reflector) {}

  intercept(context: ExecutionContext, next: CallHandler): Observable<unknown> {
    const base = this.reflector.get<string>(LOCATION, context.getHandler());
    const reply = context.switchToHttp().getResponse<FastifyReply>();
    return next.handle().pipe(
      map((body: unknown) => {
        const id = (body as { id?: unknown } | undefined)?.id;
        if (typeof id === 'string') reply.header('Location', `${base}${encodeURIComponent(id)}/`);
        return body;
      }),
    );
  }
}

/** A create whose record is then read at `<base><id>/` (a replayed answer gets the same Location). */
export function CreatedAt(base: string) {
  return applyDecorators(SetMetadata(LOCATION, base), UseInterceptors(LocationInterceptor));
}
