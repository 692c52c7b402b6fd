/**
 * The built web pages (web/dist, `npm run build`): the operator console at /console/ and the
 * reference inbox at /inbox/. Static files only; the pages talk to /graphql like any client.
 * Assets have content hashes in their names, so they are cached for good; index.html never is.
 */
import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import type http from 'node:http';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

export const WEB_PAGES = ['console', 'inbox'] as const;

const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.map': 'application/json; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.ico': 'image/x-icon',
};

// Everything from this origin; style attributes are set by the chart library.
const CSP = "default-src 'self'; connect-src 'self'; img-src 'self' data:; style-src 'self' 'unsafe-inline'; frame-ancestors 'none'; base-uri 'none'";

/** web/dist of this package: two levels above src/server, three above dist/src/server. */
export function defaultWebRoot(): string {
  let dir = path.dirname(fileURLToPath(import.meta.url));
  for (let i = 0; i < 4; i++) {
    dir = path.dirname(dir);
    if (existsSync(path.join(dir, 'package.json')) && existsSync(path.join(dir, 'web'))) return path.join(dir, 'web', 'dist');
  }
  return path.resolve('web', 'dist');
}

/**
 * A handler for GET/HEAD under /console and /inbox; returns false for other paths.
 * `root` is the folder with one built folder per page.
 */
export function webPages(root: string): (req: http.IncomingMessage, res: http.ServerResponse, urlPath: string) => boolean {
  return (req, res, urlPath) => {
    const page = WEB_PAGES.find((p) => urlPath === `/${p}` || urlPath.startsWith(`/${p}/`));
    if (!page || (req.method !== 'GET' && req.method !== 'HEAD')) return false;
    if (urlPath === `/${page}`) {
      res.writeHead(308, { location: `/${page}/` }).end();
      return true;
    }
    const dir = path.join(root, page);
    let rel: string;
    try {
      rel = decodeURIComponent(urlPath.slice(page.length + 2));
    } catch {
      rel = '\u0000';
    }
    const file = path.join(dir, rel === '' ? 'index.html' : rel);
    const inside = file.startsWith(dir + path.sep) && !rel.includes('\u0000');
    const send = (status: number, headers: http.OutgoingHttpHeaders, body: string | Buffer) => {
      res.writeHead(status, { 'content-length': Buffer.byteLength(body), 'x-content-type-options': 'nosniff', ...headers });
      res.end(req.method === 'HEAD' ? undefined : body);
    };
    if (!inside) {
      send(404, { 'content-type': 'text/plain; charset=utf-8' }, 'not found');
      return true;
    }
    readFile(file).then(
      (body) => {
        const isIndex = file.endsWith('index.html');
        send(200, {
          'content-type': TYPES[path.extname(file)] ?? 'application/octet-stream',
          'cache-control': isIndex ? 'no-cache' : 'public, max-age=31536000, immutable',
          ...(isIndex ? { 'content-security-policy': CSP, 'referrer-policy': 'no-referrer' } : {}),
        }, body);
      },
      () => {
        const built = existsSync(path.join(dir, 'index.html'));
        send(404, { 'content-type': 'text/plain; charset=utf-8' }, built ? 'not found' : `the ${page} page is not built: run npm run build`);
      },
    );
    return true;
  };
}
