import { readFileSync } from 'node:fs';

/**
 * The node arguments of package.json's `start` script (e.g. ['--enable-source-maps',
 * 'dist/src/main.js']): the process test and the bench run the server exactly as `npm start`
 * does, with this node, relative to the repository root.
 */
export function startArgs(): string[] {
  const pkg = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { scripts: { start: string } };
  const [node, ...args] = pkg.scripts.start.split(' ');
  if (node !== 'node') throw new Error(`package.json start script should start with node: ${pkg.scripts.start}`);
  return args;
}
