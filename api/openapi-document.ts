// The OpenAPI 3.1 document, generated from the route registry (api/openapi.ts): request schemas with
// zod's input view (defaults make fields optional), response schemas with its output view. A schema named
// with `.meta({ id: 'Name' })` becomes one reusable component (`#/components/schemas/Name`, the output view;
// `NameInput` for a request body whose input view differs).
import { z } from 'zod';
import { IDEMPOTENCY_HEADER } from './idempotency.js';
import { isRaw, type RegisteredRoute } from './openapi.js';

type Components = Map<string, Record<string, any>>;

function jsonSchema(schema: z.ZodType, io: 'input' | 'output', components?: Components): Record<string, any> {
  const { $schema: _ignored, $defs, ...rest } = z.toJSONSchema(schema, { io, unrepresentable: 'any' }) as Record<string, any>;
  if (!$defs) return rest;
  if (!components) throw new Error('A named schema ($defs) where no components are collected (path or query parameters)');
  const names = new Map(Object.keys($defs).map((name) => [name, componentName(name, $defs[name], io, components)]));
  const rename = (node: unknown): any => {
    if (Array.isArray(node)) return node.map(rename);
    if (!node || typeof node !== 'object') return node;
    return Object.fromEntries(Object.entries(node).map(([k, v]) => [k, k === '$ref' && typeof v === 'string'
      ? `#/components/schemas/${names.get(v.replace('#/$defs/', '')) ?? v}` : rename(v)]));
  };
  for (const [name, def] of Object.entries<Record<string, any>>($defs)) components.set(names.get(name)!, rename(def));
  return rename(rest);
}

/** The component's name: its id, with `Input` for an input view that differs from the output view already kept. */
function componentName(name: string, def: Record<string, any>, io: 'input' | 'output', components: Components): string {
  const kept = components.get(name);
  if (!kept || JSON.stringify(kept) === JSON.stringify(def)) return name;
  const alternative = `${name}${io === 'input' ? 'Input' : 'Output'}`;
  const other = components.get(alternative);
  if (other && JSON.stringify(other) !== JSON.stringify(def)) {
    throw new Error(`Two different schemas are named ${JSON.stringify(name)} (.meta({ id })); give each its own name.`);
  }
  return alternative;
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

const IDEMPOTENCY_PARAMETER = {
  name: IDEMPOTENCY_HEADER, in: 'header', required: false,
  description: 'Makes a retry safe (IETF draft-ietf-httpapi-idempotency-key-header). Keys belong to the caller\'s API key and to '
    + 'one request (method, path and body): repeating the request with its key replays the first reply (header '
    + '`Idempotent-Replayed: true`) and starts nothing; the same key with another path or body is 422; while the '
    + 'first request is still being processed, 409.',
  schema: { type: 'string', minLength: 1, maxLength: 200 },
};

function successResponse(spec: RegisteredRoute['spec'], components: Components) {
  if (spec.download) {
    return {
      description: spec.download.description ?? spec.summary,
      content: Object.fromEntries(spec.download.contentTypes.map((type) => [type, { schema: { type: 'string', contentMediaType: type } }])),
    };
  }
  if (!spec.response) return { description: spec.summary };
  const example = spec.example?.response !== undefined ? { example: spec.example.response } : {};
  return { description: spec.summary, content: { 'application/json': { schema: jsonSchema(spec.response, 'output', components), ...example } } };
}

function operation(spec: RegisteredRoute['spec'], components: Components) {
  const status = spec.status ?? (spec.response || spec.download ? 200 : 204);
  const responses: Record<string, unknown> = { [status]: successResponse(spec, components) };
  const problems = new Set(spec.errors ?? []);
  if (spec.startsWork) { problems.add(409); problems.add(422); }
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
      content: { 'application/json': { schema: jsonSchema(spec.body, 'input', components), ...(spec.example?.body !== undefined ? { example: spec.example.body } : {}) } },
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
    parameters: [
      ...parameters(spec.params, 'path'), ...parameters(spec.query, 'query'),
      ...(spec.startsWork ? [{ $ref: '#/components/parameters/IdempotencyKey' }] : []),
    ],
    ...(spec.startsWork ? { 'x-starts-work': true } : {}),
    ...(requestBody ? { requestBody } : {}),
    responses,
  };
}

export function openApiDocument(routes: RegisteredRoute[], info: { title: string; version: string }) {
  const paths: Record<string, Record<string, unknown>> = {};
  const components: Components = new Map();
  for (const { spec } of routes) {
    paths[spec.path] ??= {};
    paths[spec.path][spec.method] = operation(spec, components);
  }
  return {
    openapi: '3.1.0',
    info: { ...info, description: 'Contact-center back-office jobs on Temporal. Errors are application/problem+json.' },
    paths,
    components: {
      securitySchemes: { bearer: { type: 'http', scheme: 'bearer', description: 'An API key: "Authorization: Bearer ccj_…"' } },
      parameters: { IdempotencyKey: IDEMPOTENCY_PARAMETER },
      schemas: { Problem: PROBLEM_SCHEMA, ...Object.fromEntries([...components].sort(([a], [b]) => a.localeCompare(b))) },
    },
  };
}
