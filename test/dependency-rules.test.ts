/**
 * Dependencies point one way (docs/architecture.md). Every import of every .ts file under src/
 * and jobs/ (static, `import type`, `export … from`, dynamic `import()`) is checked against the
 * rules below; a failure names each file and the import that breaks a rule.
 */
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import ts from 'typescript';
import { describe, expect, it } from 'vitest';

const ROOT = path.resolve(import.meta.dirname, '..');

interface Rule {
  /** in plain words, with the reason */
  says: string;
  /** the files the rule is about: repo paths starting with one of these */
  files: string[];
  /** ...except these */
  except?: string[];
  /** what they must not import: repo paths starting with one of these, or package names */
  mustNotImport: string[];
}

/** The folders: see /docs/architecture.md "Layout" and the design's parts. */
const RULES: Rule[] = [
  {
    says: 'The store defines what it stores: it does not import the domain (the domain re-exports the stored shapes).',
    files: ['src/store/'],
    mustNotImport: ['src/notifications/'],
  },
  {
    says: 'The store does not know the realtime layer: channel names are passed in.',
    files: ['src/store/'],
    mustNotImport: ['src/realtime/'],
  },
  {
    says: 'The Store interface and the memory store do not know the Redis implementation.',
    files: ['src/store/'],
    except: ['src/store/redis/'],
    mustNotImport: ['src/store/redis/'],
  },
  {
    says: 'The cache gets its Redis key builder injected; it does not import the Redis store.',
    files: ['src/cache/'],
    mustNotImport: ['src/store/redis/'],
  },
  {
    says: 'The domain knows no GraphQL, no transport and no Redis: it sees only the Store interface.',
    files: ['src/notifications/'],
    mustNotImport: ['src/schema/', 'src/server/', 'src/store/redis/', 'graphql', '@pothos/', 'ioredis'],
  },
  {
    says: 'The schema does not import the server (the auth context type lives in the domain).',
    files: ['src/schema/'],
    mustNotImport: ['src/server/'],
  },
  {
    says: 'Resolvers reach Redis only through the Store.',
    files: ['src/schema/'],
    mustNotImport: ['src/store/redis/', 'ioredis'],
  },
  {
    says: 'A job never starts a server.',
    files: ['jobs/'],
    mustNotImport: ['src/server/'],
  },
  {
    says: 'The scheduler does not reach back into the app: a job publishes on the bus instead.',
    files: ['src/scheduler/'],
    mustNotImport: ['src/app.ts'],
  },
];

/** What one file imports: repo paths for relative specifiers (.js -> .ts), package names as written. */
function importsOf(file: string, source: string): string[] {
  const { importedFiles } = ts.preProcessFile(source, true, true);
  return importedFiles.map(({ fileName }) => {
    if (!fileName.startsWith('.')) return fileName;
    const resolved = path.posix.normalize(path.posix.join(path.posix.dirname(file), fileName));
    return resolved.replace(/\.js$/, '.ts');
  });
}

const under = (p: string, prefixes: readonly string[]) =>
  prefixes.some((x) => (x.endsWith('/') ? p.startsWith(x) : p === x || p.startsWith(`${x}/`)));

/** "file -> import" for each import that breaks a rule, with the rule. */
function violations(files: ReadonlyMap<string, string>, rules: readonly Rule[] = RULES): string[] {
  const out: string[] = [];
  for (const [file, source] of files) {
    for (const rule of rules) {
      if (!under(file, rule.files) || under(file, rule.except ?? [])) continue;
      for (const imported of importsOf(file, source)) {
        if (under(imported, rule.mustNotImport)) out.push(`${file} -> ${imported}  (${rule.says})`);
      }
    }
  }
  return out;
}

function sources(): Map<string, string> {
  const files = new Map<string, string>();
  for (const dir of ['src', 'jobs']) {
    for (const entry of readdirSync(path.join(ROOT, dir), { recursive: true, withFileTypes: true })) {
      if (!entry.isFile() || !entry.name.endsWith('.ts')) continue;
      const abs = path.join(entry.parentPath, entry.name);
      files.set(path.relative(ROOT, abs).split(path.sep).join('/'), readFileSync(abs, 'utf8'));
    }
  }
  return files;
}

describe('dependency rules', () => {
  const files = sources();

  it('every import of src/ and jobs/ keeps to the rules', () => {
    expect(violations(files)).toEqual([]);
  });

  it('each rule is about files that exist', () => {
    for (const rule of RULES) {
      for (const prefix of rule.files) expect([...files.keys()].some((f) => f.startsWith(prefix)), `${prefix} (${rule.says})`).toBe(true);
    }
  });

  it('catches every kind of import: type-only, re-export, dynamic, side-effect, package', () => {
    const bad = new Map([
      [
        'src/store/memory/example.ts',
        [
          "import type { Notification } from '../../notifications/types.js';",
          "export { keySpace } from '../redis/keys.js';",
          "const later = () => import('../../realtime/channels.js');",
          "import '../../notifications/errors.js';",
          "import { decodeSeq } from '../ids.js';",
        ].join('\n'),
      ],
      ['src/notifications/example.ts', "import { GraphQLError } from 'graphql';\nimport type { Redis } from 'ioredis';"],
      ['src/cache/example.ts', "import { cacheKeys } from '../store/redis/keys.js';"],
    ]);
    expect(violations(bad).map((v) => v.slice(0, v.indexOf('  (')))).toEqual([
      'src/store/memory/example.ts -> src/notifications/types.ts',
      'src/store/memory/example.ts -> src/notifications/errors.ts',
      'src/store/memory/example.ts -> src/realtime/channels.ts',
      'src/store/memory/example.ts -> src/store/redis/keys.ts',
      'src/notifications/example.ts -> graphql',
      'src/notifications/example.ts -> ioredis',
      'src/cache/example.ts -> src/store/redis/keys.ts',
    ]);
  });
});
