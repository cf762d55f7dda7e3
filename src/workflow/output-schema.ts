import { createRequire } from 'node:module';
import type { Ajv } from 'ajv';

let ajv: Ajv | undefined;

/**
 * What makes an agent's `outputSchema` not a JSON Schema (checked against the meta-schema), or
 * undefined: claude refuses such a schema at start, on every attempt, naming its own flag. ajv is
 * loaded only for a workflow that has one, so other commands start without it. `$schema` is set
 * aside: the keywords are what is checked, whichever draft the schema names.
 */
export function outputSchemaProblem(schema: Record<string, unknown>): string | undefined {
  const AjvClass = (createRequire(import.meta.url)('ajv') as { default: new (options: object) => Ajv }).default;
  ajv ??= new AjvClass({ strict: false });
  const { $schema: _named, ...keywords } = schema;
  if (ajv.validateSchema(keywords)) return undefined;
  const [first] = ajv.errors ?? [];
  return `is not a valid JSON Schema: ${first?.instancePath || '/'} ${first?.message ?? 'does not match the meta-schema'}`;
}
