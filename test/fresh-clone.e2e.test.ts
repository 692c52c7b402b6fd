/**
 * Set-up is two commands: on a fresh clone `npm ci && npm start` serves (memory backend, tokens
 * printed) without a separate `npm run build`; and `npm ci --omit=dev` with a shipped dist/
 * still starts, without TypeScript. The clone is a copy of the files git would commit (tracked
 * and new, not ignored: no dist/); node_modules is linked from this checkout instead of running
 * `npm ci` again.
 */
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, symlinkSync, utimesSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { freePort } from './helpers/redis-server.js';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const dirs: string[] = [];
const children: ChildProcess[] = [];

afterEach(() => {
  // npm start runs node as its child: end the whole process group.
  for (const c of children.splice(0)) if (c.exitCode === null && c.pid) process.kill(-c.pid, 'SIGKILL');
});
afterAll(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

/** The repository's files as a clone would have them, in a new directory. */
function cloneTree(): string {
  const dir = mkdtempSync(join(tmpdir(), 'ntf-clone-'));
  dirs.push(dir);
  const files = execFileSync('git', ['ls-files', '-z', '--cached', '--others', '--exclude-standard'], { cwd: ROOT, encoding: 'utf8' }).split('\0').filter(Boolean);
  for (const f of files) {
    if (!existsSync(join(ROOT, f))) continue; // deleted in the working tree
    mkdirSync(dirname(join(dir, f)), { recursive: true });
    cpSync(join(ROOT, f), join(dir, f));
  }
  return dir;
}

/** node_modules as `npm ci --omit=dev` leaves it, as far as start-up can tell: no TypeScript, no tsc. */
function productionModules(dir: string) {
  mkdirSync(join(dir, 'node_modules'));
  for (const name of readdirSync(join(ROOT, 'node_modules'))) {
    if (name === 'typescript' || name === '.bin') continue;
    symlinkSync(join(ROOT, 'node_modules', name), join(dir, 'node_modules', name));
  }
}

function npmStart(dir: string, port: number) {
  const env = { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '', PORT: String(port), HOST: '127.0.0.1' };
  const child = spawn('npm', ['start'], { cwd: dir, env, stdio: ['ignore', 'pipe', 'pipe'], detached: true });
  children.push(child);
  let out = '';
  const waiters: (() => void)[] = [];
  const onData = (d: Buffer) => {
    out += d;
    for (const w of waiters) w();
  };
  child.stdout!.on('data', onData);
  child.stderr!.on('data', onData);
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  /** Resolves with the first match of `re` in the output; rejects if the process exits first. */
  const waitFor = (re: RegExp) =>
    new Promise<RegExpMatchArray>((resolve, reject) => {
      const check = () => {
        const m = re.exec(out);
        if (m) resolve(m);
      };
      waiters.push(check);
      check();
      void exited.then((code) => reject(new Error(`npm start exited with ${code} before ${re}:\n${out}`)));
    });
  return { waitFor, exited, output: () => out };
}

/** The printed demo-user token works against the running server. */
async function expectServing(port: number, token: string) {
  expect((await fetch(`http://127.0.0.1:${port}/healthz`)).status).toBe(200);
  const res = await fetch(`http://127.0.0.1:${port}/graphql`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
    body: JSON.stringify({ query: '{ me { id unreadCount } }' }),
  });
  expect(await res.json()).toEqual({ data: { me: { id: 'demo-user', unreadCount: 0 } } });
}

const DEMO_TOKEN = /demo-user: Bearer (\S+)/;

describe('a fresh clone', () => {
  let clone: string;
  beforeAll(() => {
    clone = cloneTree();
    symlinkSync(join(ROOT, 'node_modules'), join(clone, 'node_modules'));
  });

  it('serves after `npm ci && npm start`: npm start builds dist/ itself', { timeout: 180_000 }, async () => {
    expect(existsSync(join(clone, 'dist'))).toBe(false);
    const port = await freePort();
    const s = npmStart(clone, port);
    const [, token] = await s.waitFor(DEMO_TOKEN);
    expect(s.output()).toMatch(/dist\/ is missing: building it/);
    expect(existsSync(join(clone, 'dist/src/main.js'))).toBe(true);
    await expectServing(port, token!);
    // The web pages were built too, and are served with what they load.
    for (const page of ['console', 'inbox']) {
      const html = await fetch(`http://127.0.0.1:${port}/${page}/`);
      expect(html.status).toBe(200);
      const script = /src="(\/[^"]+\.js)"/.exec(await html.text())![1]!;
      expect(script.startsWith(`/${page}/assets/`)).toBe(true);
      expect((await fetch(`http://127.0.0.1:${port}${script}`)).status).toBe(200);
    }

    // The default limits are in force: 50 mutations/s for a user (bursts of 100), 1 MiB bodies.
    const post = (body: string) =>
      fetch(`http://127.0.0.1:${port}/graphql`, { method: 'POST', headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` }, body });
    const fields = (n: number) => Array.from({ length: n }, (_, i) => `m${i}: markAllRead`).join(' ');
    const limited = await post(JSON.stringify({ query: `mutation { ${fields(51)} }` }));
    expect(limited.status).toBe(429);
    expect(((await limited.json()) as { errors: { extensions: { code: string } }[] }).errors[0]!.extensions.code).toBe('RATE_LIMITED');
    expect((await post(JSON.stringify({ query: `{ me { id } } # ${'x'.repeat(1024 * 1024)}` }))).status).toBe(413);
  });

  it('with `npm ci --omit=dev` and a shipped dist/, starts it as it is (no TypeScript, file times ignored)', { timeout: 60_000 }, async () => {
    const prod = cloneTree();
    productionModules(prod);
    cpSync(join(clone, 'dist'), join(prod, 'dist'), { recursive: true });
    // A copy may leave dist/ looking older than src/; without TypeScript that is no reason to stop.
    const old = new Date('2001-01-01T00:00:00Z');
    utimesSync(join(prod, 'dist/src/main.js'), old, old);
    const port = await freePort();
    const s = npmStart(prod, port);
    const [, token] = await s.waitFor(DEMO_TOKEN);
    expect(s.output()).not.toMatch(/building/);
    await expectServing(port, token!);
  });

  it('without TypeScript and without dist/, says so in one line and exits 1', { timeout: 60_000 }, async () => {
    const bare = cloneTree();
    productionModules(bare);
    const s = npmStart(bare, await freePort());
    expect(await s.exited).toBe(1);
    expect(s.output()).toContain('dist/ is missing and TypeScript is not installed: run `npm ci` with dev dependencies, or ship dist/ (npm run build) with the app');
  });
});
