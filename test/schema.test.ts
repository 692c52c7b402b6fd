import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { printedSchema } from '../src/schema/print-schema.js';

describe('schema.graphql', () => {
  it('is exactly what the Pothos schema prints (run `npm run schema` after changing it)', () => {
    expect(readFileSync(new URL('../schema.graphql', import.meta.url), 'utf8')).toBe(printedSchema());
  });

  it('is sorted lexicographically', () => {
    const types = [...printedSchema().matchAll(/^(?:type|input|enum|interface|scalar) (\w+)/gm)].map((m) => m[1]!);
    expect(types).toEqual([...types].sort());
  });
});
