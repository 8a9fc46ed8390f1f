import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Ajv, type ErrorObject, type ValidateFunction } from 'ajv';
import addFormatsModule from 'ajv-formats';

/** ajv-formats is CommonJS with `exports.default`; under nodenext its default import is the module object. */
const addFormats = addFormatsModule as unknown as typeof addFormatsModule.default;

export type Schema = Record<string, any>;

export interface Parameter {
  name: string;
  in: 'path' | 'query';
  required: boolean;
  schema: Schema;
}

export interface ResponseSpec {
  /** The one content type the document gives, if any (204 has none). */
  contentType?: string;
  validate?: ValidateFunction;
}

/** One operation of openapi.json, ready to fuzz and to check answers against. */
export interface Operation {
  /** operationId, e.g. patientsCreate. */
  id: string;
  method: string;
  /** As in the document, e.g. /api/patients/{id} (no trailing slash). */
  path: string;
  params: Parameter[];
  /** The request body schema, $refs inlined, or undefined when the operation takes none. */
  body?: Schema;
  /** Needs a bearer token. */
  secured: boolean;
  /** Under /api/admin/: admins only. */
  admin: boolean;
  responses: Map<number, ResponseSpec>;
}

export interface Api {
  operations: Operation[];
  byId: Map<string, Operation>;
  /** Checks a problem+json body that no operation documents (429, 405, an early 400...). */
  problem: ValidateFunction;
}

const HTTP_METHODS = ['get', 'post', 'put', 'patch', 'delete'];

/**
 * OpenAPI 3.0 schema -> JSON Schema for ajv: $refs inlined (the document has
 * no recursive schema), allOf of objects merged into one object, `nullable`
 * turned into a null type (or a null choice of a oneOf), `example` dropped. With `closed`, every object
 * that lists its properties gets additionalProperties: false, so an answer
 * carrying an undocumented field (an owner, a password hash) is a violation.
 */
export function toJsonSchema(schema: Schema, components: Record<string, Schema>, closed: boolean): Schema {
  if (typeof schema.$ref === 'string') {
    const name = schema.$ref.replace('#/components/schemas/', '');
    const target = components[name];
    if (!target) throw new Error(`openapi.json: unknown $ref ${schema.$ref}`);
    return toJsonSchema(target, components, closed);
  }
  if (Array.isArray(schema.allOf)) {
    const parts = (schema.allOf as Schema[]).map((part) => toJsonSchema(part, components, false));
    const merged: Schema = { type: 'object', properties: {}, required: [] };
    for (const part of parts) {
      if (part.type !== undefined && part.type !== 'object') return { allOf: parts };
      Object.assign(merged.properties, part.properties ?? {});
      merged.required.push(...(part.required ?? []));
    }
    return close({ ...merged, properties: reconvert(merged.properties, components, closed) }, closed);
  }
  const out: Schema = {};
  for (const [key, value] of Object.entries(schema)) {
    if (key === 'example' || key === 'nullable') continue;
    if (key === 'properties') out.properties = reconvert(value as Record<string, Schema>, components, closed);
    else if (key === 'items') out.items = toJsonSchema(value as Schema, components, closed);
    else if (key === 'additionalProperties' && typeof value === 'object') {
      out.additionalProperties = toJsonSchema(value as Schema, components, closed);
    } else out[key] = value;
  }
  if (schema.nullable === true) {
    if (typeof out.type === 'string') out.type = [out.type, 'null'];
    if (Array.isArray(out.enum)) out.enum = [...out.enum, null];
    // A nullable oneOf (a history change's from/to): null is one more choice.
    if (Array.isArray(out.oneOf)) out.oneOf = [...out.oneOf, { type: 'null' }];
  }
  return close(out, closed);
}

function reconvert(properties: Record<string, Schema>, components: Record<string, Schema>, closed: boolean) {
  return Object.fromEntries(Object.entries(properties).map(([k, v]) => [k, toJsonSchema(v, components, closed)]));
}

function close(schema: Schema, closed: boolean): Schema {
  if (closed && schema.properties && schema.additionalProperties === undefined) return { ...schema, additionalProperties: false };
  return schema;
}

/** Reads the committed openapi.json (at run time, so the fuzzer follows the document). */
export function loadApi(file = join(import.meta.dirname, '..', '..', 'openapi.json')): Api {
  const doc = JSON.parse(readFileSync(file, 'utf8')) as Schema;
  const components = (doc.components?.schemas ?? {}) as Record<string, Schema>;
  const ajv = new Ajv({ allErrors: true, strict: true });
  addFormats(ajv);
  const compiled = new Map<string, ValidateFunction>();
  const compile = (schema: Schema): ValidateFunction => {
    const json = toJsonSchema(schema, components, true);
    const key = JSON.stringify(json);
    let fn = compiled.get(key);
    if (!fn) {
      fn = ajv.compile(json);
      compiled.set(key, fn);
    }
    return fn;
  };

  const operations: Operation[] = [];
  for (const [path, item] of Object.entries(doc.paths as Record<string, Schema>)) {
    for (const method of HTTP_METHODS) {
      const op = item[method] as Schema | undefined;
      if (!op) continue;
      const responses = new Map<number, ResponseSpec>();
      for (const [status, response] of Object.entries(op.responses as Record<string, Schema>)) {
        const content = response.content as Record<string, Schema> | undefined;
        const [contentType, media] = Object.entries(content ?? {})[0] ?? [];
        responses.set(Number(status), { contentType, validate: media?.schema ? compile(media.schema) : undefined });
      }
      const body = op.requestBody?.content?.['application/json']?.schema as Schema | undefined;
      operations.push({
        id: op.operationId,
        method: method.toUpperCase(),
        path,
        params: ((op.parameters ?? []) as Schema[]).map((p) => ({
          name: p.name,
          in: p.in,
          required: p.required === true,
          schema: toJsonSchema(p.schema ?? {}, components, false),
        })),
        body: body ? toJsonSchema(body, components, false) : undefined,
        secured: Array.isArray(op.security) && op.security.length > 0,
        admin: path.startsWith('/api/admin/'),
        responses,
      });
    }
  }
  if (!components.ProblemDto) throw new Error('openapi.json has no ProblemDto');
  return {
    operations,
    byId: new Map(operations.map((o) => [o.id, o])),
    problem: compile({ $ref: '#/components/schemas/ProblemDto' }),
  };
}

/** ajv's errors, one short line. */
export function describeErrors(errors: ErrorObject[] | null | undefined): string {
  return (errors ?? [])
    .slice(0, 5)
    .map((e) => `${e.instancePath || '(root)'} ${e.message ?? ''}${e.params ? ` ${JSON.stringify(e.params)}` : ''}`)
    .join('; ');
}
