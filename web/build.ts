/**
 * Builds the pages the server serves: web/dist/console (at /console/) and web/dist/inbox (at
 * /inbox/), each self-contained with its own assets, nothing loaded from elsewhere at run time.
 * `npm run build` runs it (`npm run build:web` alone); the browser tests' global setup too.
 */
import { fileURLToPath } from 'node:url';
import { build } from 'vite';

export const WEB_PAGES = ['console', 'inbox'] as const;
const here = (p: string) => fileURLToPath(new URL(p, import.meta.url));

/** Builds `pages` into `outRoot`/<page> (tests build into a folder of their own). */
export async function buildWeb(outRoot = here('./dist'), pages: readonly (typeof WEB_PAGES)[number][] = WEB_PAGES): Promise<void> {
  for (const page of pages) {
    await build({
      configFile: false,
      root: here(`./${page}`),
      base: `/${page}/`,
      logLevel: 'warn',
      oxc: { jsx: { runtime: 'automatic', importSource: 'preact' } },
      build: { outDir: `${outRoot}/${page}`, emptyOutDir: true, sourcemap: true, chunkSizeWarningLimit: 300 },
    });
  }
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) await buildWeb();
