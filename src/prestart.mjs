// `npm ci` runs this as "prepare" and `npm start` as "prestart": it builds dist/ when it is
// missing or older than the sources, so a fresh clone needs only `npm ci && npm start`, and the
// first start doesn't wait for a build. Production keeps running compiled JavaScript. Without
// TypeScript (`npm ci --omit=dev` with a shipped dist/) it builds nothing: as "prepare" it does
// nothing; before a start, a present dist/ runs as it is and a missing one is a one-line error.
import { spawnSync } from 'node:child_process';
import { readdirSync, statSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));
const built = join(root, 'dist/src/main.js');

/** Newest modification time (ms) of a file or of any file below a directory; 0 if absent. */
function newest(path) {
  let st;
  try {
    st = statSync(path);
  } catch {
    return 0;
  }
  if (!st.isDirectory()) return st.mtimeMs;
  let max = 0;
  for (const name of readdirSync(path)) max = Math.max(max, newest(join(path, name)));
  return max;
}

// The web pages are part of the build: missing pages count as a missing build (web/dist is
// the output, so the sources below leave it out).
const pagesAt = Math.min(...['console', 'inbox'].map((p) => newest(join(root, 'web/dist', p, 'index.html'))));
const builtAt = Math.min(newest(built), pagesAt);
const sources = ['src', 'jobs', 'tsconfig.json', 'package.json', 'client/src', 'web/console', 'web/inbox', 'web/shared', 'web/build.ts'];
const sourcesAt = Math.max(...sources.map((p) => newest(join(root, p))));
if (builtAt > sourcesAt) process.exit(0);

let typescript = true;
try {
  createRequire(import.meta.url).resolve('typescript/package.json');
} catch {
  typescript = false;
}
if (!typescript) {
  if (process.argv.includes('--prepare')) process.exit(0);
  if (newest(built) > 0) process.exit(0); // a shipped dist/ (file times may not survive the copy; pages optional)
  console.error('dist/ is missing and TypeScript is not installed: run `npm ci` with dev dependencies, or ship dist/ (npm run build) with the app');
  process.exit(1);
}
console.error(newest(built) === 0 ? 'dist/ is missing: building it (npm run build)' : builtAt === 0 ? 'the web pages are not built: building (npm run build)' : 'dist/ is older than the sources: rebuilding it (npm run build)');
const r = spawnSync('npm', ['run', '-s', 'build'], { cwd: root, stdio: 'inherit' });
process.exit(r.status ?? 1);
