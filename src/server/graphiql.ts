/**
 * GraphiQL that works offline. yoga's built-in page loads its JS/CSS from unpkg,
 * so with no internet it hangs on "Loading..." (stack-notes §8); the
 * `@graphql-yoga/render-graphiql` renderer inlines everything instead (~9 MB
 * page, which yoga only serves to GET requests that accept text/html).
 *
 * Usage: `createYoga({ schema, renderGraphiQL, graphiql: graphiqlOptions(devToken) })`.
 */
import type { GraphiQLOptions } from 'graphql-yoga';

// Loaded with the first page: the inlined assets are ~30 MB of heap (the module's source and the
// page's strings), a quarter of an idle server's RSS, which a server nobody opens GraphiQL on
// should not carry.
let renderer: Promise<typeof import('@graphql-yoga/render-graphiql')> | null = null;

/**
 * yoga `renderGraphiQL` option: inlines GraphiQL's assets so the page needs no CDN.
 * Subscriptions go over SSE unless the options say otherwise.
 */
export async function renderGraphiQL(options: GraphiQLOptions): Promise<string> {
  const { renderGraphiQL: render } = await (renderer ??= import('@graphql-yoga/render-graphiql'));
  return render({ subscriptionsProtocol: 'SSE', ...options });
}

/**
 * yoga `graphiql` option.
 *
 * Keeps subscriptions on SSE: GraphiQL then sends the headers-editor
 * Authorization as a real HTTP header; in WS mode it would not put it in
 * connectionParams and our WebSocket server would close with 4403 (stack-notes §8).
 *
 * @param defaultToken - when given, the headers editor starts as
 *   `{"Authorization":"Bearer <token>"}` (also for new tabs).
 * @param extra - any other GraphiQL options (e.g. `defaultQuery`, `title`); they win over the defaults.
 */
export function graphiqlOptions(defaultToken?: string, extra: GraphiQLOptions = {}): GraphiQLOptions {
  const options: GraphiQLOptions = {
    title: 'Notifications GraphiQL',
    subscriptionsProtocol: 'SSE',
    isHeadersEditorEnabled: true,
  };
  if (defaultToken) {
    const headers = JSON.stringify({ Authorization: `Bearer ${defaultToken}` }, null, 2);
    // `headers` fills the first tab, `defaultHeaders` every tab opened later.
    options.headers = headers;
    options.defaultHeaders = headers;
    // A persisted (possibly expired) token from an earlier run would otherwise override the fresh one.
    options.shouldPersistHeaders = false;
  }
  return { ...options, ...extra };
}
