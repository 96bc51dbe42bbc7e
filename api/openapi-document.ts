// The OpenAPI 3.1 document, generated from the route registry (api/openapi.ts): request schemas with
// zod's input view (defaults make fields optional), response schemas with its output view.
import { z } from 'zod';
import { isRaw, type RegisteredRoute } from './openapi.js';

function jsonSchema(schema: z.ZodType, io: 'input' | 'output'): Record<string, any> {
  const { $schema: _ignored, ...rest } = z.toJSONSchema(schema, { io, unrepresentable: 'any' }) as Record<string, any>;
  return rest;
}

function parameters(schema: z.ZodType | undefined, where: 'path' | 'query') {
  if (!schema) return [];
  const object = jsonSchema(schema, 'input');
  const required = new Set<string>(object.required ?? []);
  return Object.entries<Record<string, any>>(object.properties ?? {}).map(([name, property]) => ({
    name, in: where, required: where === 'path' || required.has(name),
    ...(property.description ? { description: property.description } : {}),
    schema: property,
  }));
}

const PROBLEM_SCHEMA = {
  type: 'object',
  required: ['type', 'title', 'status', 'detail'],
  properties: {
    type: { type: 'string' }, title: { type: 'string' }, status: { type: 'integer' }, detail: { type: 'string' },
    errors: { type: 'array', items: { type: 'object', required: ['path', 'message'], properties: { path: { type: 'string' }, message: { type: 'string' } } } },
  },
};

function operation(spec: RegisteredRoute['spec']) {
  const status = spec.status ?? (spec.response ? 200 : 204);
  const responses: Record<string, unknown> = {
    [status]: spec.response
      ? { description: spec.summary, content: { 'application/json': { schema: jsonSchema(spec.response, 'output'), ...(spec.example?.response !== undefined ? { example: spec.example.response } : {}) } } }
      : { description: spec.summary },
  };
  const problems = new Set(spec.errors ?? []);
  if (spec.params || spec.query || spec.body) problems.add(400);
  if (spec.role !== 'public') { problems.add(401); if (spec.role !== 'viewer' || spec.privilege) problems.add(403); }
  if (spec.params) problems.add(404);
  if (spec.body && !isRaw(spec.body)) problems.add(413);
  for (const code of [...problems].sort()) {
    responses[code] = { description: `Problem (${code})`, content: { 'application/problem+json': { schema: { $ref: '#/components/schemas/Problem' } } } };
  }
  let requestBody: unknown;
  if (spec.body && isRaw(spec.body)) {
    const types = spec.body.contentTypes ?? ['application/octet-stream'];
    requestBody = {
      required: true,
      description: spec.body.description ?? `Raw bytes, at most ${spec.body.maxBytes} bytes.`,
      content: Object.fromEntries(types.map((type) => [type, { schema: { type: 'string', contentMediaType: type } }])),
    };
  } else if (spec.body) {
    requestBody = {
      required: true,
      content: { 'application/json': { schema: jsonSchema(spec.body, 'input'), ...(spec.example?.body !== undefined ? { example: spec.example.body } : {}) } },
    };
  }
  return {
    operationId: `${spec.method}${spec.path.replace(/\{([^}]+)\}/g, 'By-$1').split(/[^A-Za-z0-9]+/).map((w) => w && w[0].toUpperCase() + w.slice(1)).join('')}`,
    summary: spec.summary,
    ...(spec.description ? { description: spec.description } : {}),
    tags: spec.tags ?? [spec.path.split('/')[1] || 'root'],
    security: spec.role === 'public' ? [] : [{ bearer: [] }],
    ...(spec.role !== 'public' ? { 'x-role': spec.role } : {}),
    ...(spec.privilege ? { 'x-privilege': spec.privilege } : {}),
    parameters: [...parameters(spec.params, 'path'), ...parameters(spec.query, 'query')],
    ...(requestBody ? { requestBody } : {}),
    responses,
  };
}

export function openApiDocument(routes: RegisteredRoute[], info: { title: string; version: string }) {
  const paths: Record<string, Record<string, unknown>> = {};
  for (const { spec } of routes) {
    paths[spec.path] ??= {};
    paths[spec.path][spec.method] = operation(spec);
  }
  return {
    openapi: '3.1.0',
    info: { ...info, description: 'Contact-center back-office jobs on Temporal. Errors are application/problem+json.' },
    paths,
    components: {
      securitySchemes: { bearer: { type: 'http', scheme: 'bearer', description: 'An API key: "Authorization: Bearer ccj_…"' } },
      schemas: { Problem: PROBLEM_SCHEMA },
    },
  };
}
