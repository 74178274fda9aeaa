/**
 * Zod issues in plain words for people: `minWindows: expected number, got string`; unknown keys
 * list the valid ones, enum errors the valid choices. Used where a config is parsed (site.yaml's
 * detector settings, eval specs, the detector registry), never JSON.
 */
import { z } from 'zod';

const byString = (a: string, b: string): number => (a < b ? -1 : a > b ? 1 : 0);

/** Unwraps defaults, optionals and transforms down to the schema that holds the shape. */
const core = (t: z.ZodTypeAny): z.ZodTypeAny => {
  for (;;) {
    if (t instanceof z.ZodDefault) t = t._def.innerType;
    else if (t instanceof z.ZodOptional || t instanceof z.ZodNullable) t = t._def.innerType;
    else if (t instanceof z.ZodEffects) t = t._def.schema;
    else return t;
  }
};

/** The keys an object schema allows at `path` (numbers step into arrays), or undefined. */
export const keysAt = (schema: z.ZodTypeAny, path: readonly (string | number)[]): string[] | undefined => {
  let t = core(schema);
  for (const p of path) {
    if (t instanceof z.ZodArray && typeof p === 'number') t = core(t._def.type);
    else if (t instanceof z.ZodObject && typeof p === 'string' && p in t.shape) t = core((t.shape as Record<string, z.ZodTypeAny>)[p]!);
    else if (t instanceof z.ZodRecord) t = core(t._def.valueType);
    else return undefined;
  }
  return t instanceof z.ZodObject ? Object.keys(t.shape as object).sort(byString) : undefined;
};

/**
 * One zod issue in plain words, e.g. `minWindows: expected a number, got a string`; unknown keys
 * list the valid ones, enum errors the valid choices. `schema` is the schema that was parsed;
 * `withPath` false leaves out the `path: ` prefix (the caller names the field itself).
 */
export const issueText = (iss: z.ZodIssue, schema: z.ZodTypeAny, withPath = true): string => {
  const where = withPath && iss.path.length ? `${iss.path.join('.')}: ` : '';
  switch (iss.code) {
    case 'unrecognized_keys': {
      const valid = keysAt(schema, iss.path);
      return `${where}unknown setting${iss.keys.length > 1 ? 's' : ''} ${iss.keys.map((k) => `"${k}"`).join(', ')} (a typo?)${valid ? `; valid settings: ${valid.join(', ')}` : ''}`;
    }
    case 'invalid_enum_value':
      return `${where}"${String(iss.received)}" is not one of ${iss.options.map((o) => `"${String(o)}"`).join(', ')}`;
    case 'invalid_type':
      return iss.received === 'undefined' ? `${where}required setting is missing (expected ${iss.expected})` : `${where}expected ${iss.expected}, got ${iss.received}`;
    case 'too_small':
    case 'too_big': {
      const v = iss.code === 'too_small' ? iss.minimum : iss.maximum;
      const cmp = iss.code === 'too_small' ? (iss.inclusive ? 'at least' : 'more than') : (iss.inclusive ? 'at most' : 'less than');
      return iss.type === 'number' ? `${where}must be ${cmp} ${String(v)}` : `${where}${iss.message}`;
    }
    default:
      return `${where}${iss.message}`;
  }
};

