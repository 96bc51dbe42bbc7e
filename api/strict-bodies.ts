// Request bodies are strict: a field the route does not declare is 400 naming it, so a typo such as
// `skipIfEmtpy` is refused instead of being a setting quietly not applied. The registry (api/openapi.ts)
// applies this to every JSON body schema, read from the schema's JSON Schema (zod's input view) so route
// files declare plain `z.object`s. An object declared open on purpose (`z.looseObject`, `z.record`) accepts
// any key; union branches accept the keys of any branch.
import { z } from 'zod';
import type { FieldError } from './problem.js';

type JsonSchema = Record<string, any>;

export type UnknownFieldCheck = (body: unknown) => FieldError[];

export function unknownFieldCheck(schema: z.ZodType): UnknownFieldCheck {
  const root = z.toJSONSchema(schema, { io: 'input', unrepresentable: 'any' }) as JsonSchema;
  return (body) => {
    const errors: FieldError[] = [];
    walk(root, root, body, [], errors);
    return errors;
  };
}

function walk(root: JsonSchema, schema: JsonSchema | boolean | undefined, value: unknown, path: string[], errors: FieldError[]): void {
  if (!schema || typeof schema !== 'object' || value === null || typeof value !== 'object') return;
  const branches = alternatives(root, schema);
  if (Array.isArray(value)) {
    for (const branch of branches) {
      if (branch.items) value.forEach((item, i) => walk(root, branch.items, item, [...path, String(i)], errors));
    }
    return;
  }
  const objects = branches.filter((b) => b.properties || b.additionalProperties !== undefined || b.type === 'object');
  if (!objects.length) return;
  const open = objects.some((b) => b.additionalProperties !== undefined && b.additionalProperties !== false);
  for (const [name, field] of Object.entries(value)) {
    const declared = objects.map((b) => b.properties?.[name]).filter((s) => s !== undefined);
    if (!declared.length && !open) {
      const known = [...new Set(objects.flatMap((b) => Object.keys(b.properties ?? {})))];
      errors.push({ path: [...path, name].join('.'), message: `unknown field "${name}"; ${known.length ? `the fields here are ${known.join(', ')}` : 'no fields are accepted here'}` });
      continue;
    }
    const valueSchemas = declared.length ? declared : objects.map((b) => b.additionalProperties);
    for (const s of valueSchemas) walk(root, s, field, [...path, name], errors);
  }
}

/** The object/array schemas a value may match: unions, intersections and $refs flattened. */
function alternatives(root: JsonSchema, schema: JsonSchema): JsonSchema[] {
  if (typeof schema.$ref === 'string') {
    const name = schema.$ref.replace(/^#\/\$defs\//, '');
    return root.$defs?.[name] ? alternatives(root, root.$defs[name]) : [];
  }
  const nested = [...(schema.anyOf ?? []), ...(schema.oneOf ?? [])].flatMap((s: JsonSchema) => alternatives(root, s));
  if (schema.allOf) {
    // An intersection: a key declared by any part is known; merge the parts into one object.
    const parts = (schema.allOf as JsonSchema[]).flatMap((s) => alternatives(root, s));
    const merged: JsonSchema = { type: 'object', properties: Object.assign({}, ...parts.map((p) => p.properties ?? {})) };
    if (parts.some((p) => p.additionalProperties !== undefined && p.additionalProperties !== false)) merged.additionalProperties = {};
    return [merged, ...nested];
  }
  return [schema, ...nested];
}
