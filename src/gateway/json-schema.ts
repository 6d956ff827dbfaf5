/**
 * zod → JSON Schema for the OpenAPI document (3.1, whose schemas are JSON Schema), by zod-to-json-schema, from the
 * same schemas fastify validates with. Named schemas (the components) are written once and referenced by `$ref`.
 *
 * Not fastify-type-provider-zod's jsonSchemaTransform: its release for zod 3 (4.0.2) writes OpenAPI 3.0 schemas
 * (`nullable`), throws on a response given as `{ description, content }` (how ours say what each status means), and
 * finds components by comparing JSON text (an identical inline schema becomes a `$ref` by accident); its releases
 * that do all this (5+) take zod 4 schemas only (`zod/v4/core`), and ours, with their messages, are zod 3.
 */
import type { z } from 'zod';
import { ignoreOverride, zodToJsonSchema as convert } from 'zod-to-json-schema';

export type JsonSchema = Record<string, unknown>;

export const COMPONENTS_PATH = '#/components/schemas/';

/** zod definitions of named schemas, by name; `refersTo` lets a lenient schema document the strict one it stands for. */
export class SchemaNames {
  private readonly names = new Map<unknown, string>();

  constructor(readonly components: Readonly<Record<string, z.ZodTypeAny>>) {
    for (const [name, schema] of Object.entries(components)) this.names.set(schema._def, name);
  }

  /** Documents `schema` as a reference to the component `name` (e.g. batch rows, checked one by one later). */
  refersTo(schema: z.ZodTypeAny, name: keyof this['components'] & string): this {
    this.names.set(schema._def, name);
    return this;
  }

  nameOf(schema: z.ZodTypeAny): string | undefined {
    return this.names.get(schema._def);
  }

  /** A schema as JSON Schema; named ones inside it (not itself, when `root` is a component) become `$ref`s. */
  toJsonSchema(schema: z.ZodTypeAny, root = false): JsonSchema {
    const self = root ? schema._def : undefined;
    const { $schema: _drop, ...out } = convert(schema, {
      target: 'jsonSchema7',
      $refStrategy: 'none',
      // .strict() objects say additionalProperties: false; others (extra fields ignored, or answers) say nothing.
      removeAdditionalStrategy: 'strict',
      allowedAdditionalProperties: undefined,
      override: (def) => {
        const name = def === self ? undefined : this.names.get(def);
        if (!name) return ignoreOverride;
        return { $ref: `${COMPONENTS_PATH}${name}`, ...(def.description ? { description: def.description } : {}) };
      },
    }) as JsonSchema;
    // An optional body or part is `{ anyOf: [{ not: {} }, X] }` ("absent, or X"); absence is said by `required`.
    const [absent, present, ...more] = (out.anyOf as JsonSchema[] | undefined) ?? [];
    if (absent?.not && !Object.keys(absent.not as object).length && present && !more.length) return present;
    return out;
  }

  /** Every component as JSON Schema, for `components.schemas`. */
  componentSchemas(): Record<string, JsonSchema> {
    return Object.fromEntries(
      Object.entries(this.components).map(([name, schema]) => [name, this.toJsonSchema(schema, true)]),
    );
  }
}
