import { readFileSync, writeFileSync } from 'node:fs';
import { lexicographicSortSchema, printSchema } from 'graphql';
import { buildSchema } from './index.js';

/** `npm run schema` writes schema.graphql; `--check` exits 1 when the file differs (CI, tests). */
export const printedSchema = () => printSchema(lexicographicSortSchema(buildSchema())) + '\n';

const target = new URL('../../schema.graphql', import.meta.url);
if (process.argv[1] && import.meta.url.endsWith(process.argv[1].split('/').pop()!)) {
  const sdl = printedSchema();
  if (process.argv.includes('--check')) {
    let current = '';
    try {
      current = readFileSync(target, 'utf8');
    } catch {}
    if (current !== sdl) {
      console.error('schema.graphql is out of date: run npm run schema');
      process.exit(1);
    }
  } else {
    writeFileSync(target, sdl);
  }
}
