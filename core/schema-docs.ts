/** Renders a zod object schema as a Markdown table, so defaults and meanings are written once. */
import { z } from 'zod';
import { duration } from './units.ts';

interface Row { key: string; type: string; dflt: string; description: string }

const unwrap = (t: z.ZodTypeAny): { inner: z.ZodTypeAny; optional: boolean; dflt?: unknown; isDuration: boolean } => {
  let inner = t;
  let optional = false;
  let isDuration = false;
  let dflt: unknown;
  for (;;) {
    if (inner instanceof z.ZodDefault) { dflt = inner._def.defaultValue(); inner = inner._def.innerType; continue; }
    if (inner instanceof z.ZodOptional) { optional = true; inner = inner._def.innerType; continue; }
    if (inner instanceof z.ZodEffects) { if (inner === duration) isDuration = true; inner = inner._def.schema; continue; }
    break;
  }
  return { inner, optional, isDuration, ...(dflt !== undefined ? { dflt } : {}) };
};

const typeName = (t: z.ZodTypeAny): string => {
  if (t instanceof z.ZodString) return 'string';
  if (t instanceof z.ZodNumber) return 'number';
  if (t instanceof z.ZodBoolean) return 'boolean';
  if (t instanceof z.ZodEnum) return (t._def.values as string[]).map((v) => `\`${v}\``).join(' \\| ');
  if (t instanceof z.ZodArray) return `list of ${typeName(unwrap(t._def.type).inner)}`;
  if (t instanceof z.ZodObject) return 'object';
  return 'value';
};

const walk = (schema: z.ZodTypeAny, prefix: string, rows: Row[]): void => {
  const { inner } = unwrap(schema);
  const obj = inner instanceof z.ZodArray ? unwrap(inner._def.type).inner : inner;
  if (!(obj instanceof z.ZodObject)) return;
  for (const [key, field] of Object.entries(obj.shape as Record<string, z.ZodTypeAny>)) {
    const u = unwrap(field);
    const path = `${prefix}${key}`;
    const isList = u.inner instanceof z.ZodArray;
    rows.push({
      key: path + (isList && unwrap(u.inner._def.type).inner instanceof z.ZodObject ? '[]' : ''),
      type: u.isDuration ? 'duration' : typeName(u.inner),
      dflt: u.dflt !== undefined ? `\`${JSON.stringify(u.dflt)}\`` : u.optional ? '(optional)' : '**required**',
      description: field.description ?? u.inner.description ?? '',
    });
    const child = isList ? unwrap(u.inner._def.type).inner : u.inner;
    if (child instanceof z.ZodObject) walk(child, `${path}${isList ? '[].' : '.'}`, rows);
  }
};

export const schemaTable = (schema: z.ZodTypeAny): string => {
  const rows: Row[] = [];
  walk(schema, '', rows);
  const esc = (s: string) => s.replace(/\|/g, '\\|');
  return ['| key | type | default | description |', '|---|---|---|---|',
    ...rows.map((r) => `| \`${r.key}\` | ${r.type} | ${r.dflt} | ${esc(r.description)} |`)].join('\n') + '\n';
};

/** Every field (at any depth) that has no `.describe()`; the docs test fails on any. */
export const undescribed = (schema: z.ZodTypeAny): string[] => {
  const rows: Row[] = [];
  walk(schema, '', rows);
  return rows.filter((r) => !r.description).map((r) => r.key);
};
