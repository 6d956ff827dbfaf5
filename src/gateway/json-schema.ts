/**
 * A small zod → JSON Schema (2020-12, as OpenAPI 3.1 uses) converter for the types the request schema is built from,
 * so the OpenAPI document is derived from the same schema the gateway and the workflow validate with.
 */
import { z } from 'zod';

export type JsonSchema = Record<string, unknown>;

export function zodToJsonSchema(schema: z.ZodTypeAny): JsonSchema {
  const out = convert(schema);
  return schema.description ? { ...out, description: schema.description } : out;
}

function convert(schema: z.ZodTypeAny): JsonSchema {
  const def = schema._def as { typeName: z.ZodFirstPartyTypeKind };
  switch (def.typeName) {
    case z.ZodFirstPartyTypeKind.ZodObject: {
      const obj = schema as z.ZodObject<z.ZodRawShape>;
      const properties: Record<string, JsonSchema> = {};
      const required: string[] = [];
      for (const [key, value] of Object.entries(obj.shape)) {
        properties[key] = zodToJsonSchema(value);
        if (!value.isOptional()) required.push(key);
      }
      const strict = obj._def.unknownKeys === 'strict';
      return {
        type: 'object',
        properties,
        ...(required.length ? { required } : {}),
        ...(strict ? { additionalProperties: false } : {}),
      };
    }
    case z.ZodFirstPartyTypeKind.ZodString: {
      const out: JsonSchema = { type: 'string' };
      for (const check of (schema as z.ZodString)._def.checks) {
        if (check.kind === 'min') out.minLength = check.value;
        else if (check.kind === 'max') out.maxLength = check.value;
        else if (check.kind === 'url') out.format = 'uri';
        else if (check.kind === 'regex') out.pattern = check.regex.source;
      }
      return out;
    }
    case z.ZodFirstPartyTypeKind.ZodNumber: {
      const out: JsonSchema = { type: 'number' };
      for (const check of (schema as z.ZodNumber)._def.checks) {
        if (check.kind === 'int') out.type = 'integer';
        else if (check.kind === 'min') out[check.inclusive ? 'minimum' : 'exclusiveMinimum'] = check.value;
        else if (check.kind === 'max') out[check.inclusive ? 'maximum' : 'exclusiveMaximum'] = check.value;
      }
      return out;
    }
    case z.ZodFirstPartyTypeKind.ZodBoolean:
      return { type: 'boolean' };
    case z.ZodFirstPartyTypeKind.ZodArray:
      return { type: 'array', items: zodToJsonSchema((schema as z.ZodArray<z.ZodTypeAny>).element) };
    case z.ZodFirstPartyTypeKind.ZodEnum:
      return { type: 'string', enum: [...(schema as z.ZodEnum<[string, ...string[]]>).options] };
    case z.ZodFirstPartyTypeKind.ZodLiteral:
      return { const: (schema as z.ZodLiteral<unknown>).value };
    case z.ZodFirstPartyTypeKind.ZodOptional:
      return zodToJsonSchema((schema as z.ZodOptional<z.ZodTypeAny>).unwrap());
    case z.ZodFirstPartyTypeKind.ZodNullable:
      return { anyOf: [zodToJsonSchema((schema as z.ZodNullable<z.ZodTypeAny>).unwrap()), { type: 'null' }] };
    case z.ZodFirstPartyTypeKind.ZodDefault:
      return zodToJsonSchema((schema as z.ZodDefault<z.ZodTypeAny>).removeDefault());
    case z.ZodFirstPartyTypeKind.ZodEffects:
      // Refinements (durations, "id or name") cannot be expressed here; their descriptions say what they check.
      return zodToJsonSchema((schema as z.ZodEffects<z.ZodTypeAny>).innerType());
    default:
      throw new Error(`zodToJsonSchema: ${def.typeName} is not supported; extend the converter`);
  }
}
