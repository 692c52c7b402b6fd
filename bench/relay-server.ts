/**
 * The bare relay: the floor the server is measured against (bench/bare-relay.ts drives it).
 * Compiled with the server by `npm run build` (src/tsconfig.build.json includes this file) and
 * run as `node dist/bench/relay-server.js <port> <redis-url | cluster seeds host:port,…> <key-prefix>`, so it pays neither
 * tsx's keepNames nor anything else the server doesn't. Prints "ready" once it listens.
 *
 * No GraphQL, no auth, no validation: only what any server doing the same storage must do.
 * - Per-user send: POST /send `{"userId","type","title","body"}` (or a WebSocket message
 *   `{"id","type":"send","payload":{…}}`) is one MULTI of LPUSH, LTRIM, EXPIRE plus a PUBLISH on
 *   the user's channel; the answer carries the notification's id.
 * - Per-user delivery: a WebSocket opened with `?user=ID` receives every notification published
 *   for that user, in a graphql-transport-ws `next` frame; one Redis SUBSCRIBE per user (as
 *   the server does), the socket gets `{"type":"ready"}` once it is live.
 * - Topic: `?topic=NAME` subscribes a socket to a topic; a message `{"type":"publish","topic",
 *   "payload"}` is PUBLISHed once and each subscriber gets the same `next` frame.
 */
import http from 'node:http';
import { Cluster, Redis } from 'ioredis';
import WebSocket, { WebSocketServer } from 'ws';

const [portArg, redisUrl, prefix = 'relay:'] = process.argv.slice(2);
const CAP = 50;
const TTL_S = 30 * 24 * 3600;

// On a Redis Cluster (seeds instead of a URL) it stays as simple: the MULTI touches one key, and
// its pub/sub is global (a PUBLISH reaches every node over the cluster bus).
const seeds = /^rediss?:\/\//.test(redisUrl!) ? null : redisUrl!.split(',').map((s) => ({ host: s.split(':')[0]!, port: Number(s.split(':')[1]) }));
const connect = () => (seeds ? new Cluster(seeds) : new Redis(redisUrl!, { lazyConnect: false }));
const redis = connect();
const sub = connect();
const inboxKey = (user: string) => `${prefix}relay:inbox:${user}`;
const userChannel = (user: string) => `${prefix}relay:u:${user}`;
const topicChannel = (topic: string) => `${prefix}relay:t:${topic}`;

let seq = 0;
interface SendInput {
  userId: string;
  type: string;
  title: string;
  body: string;
}

/** Stores and publishes one notification; resolves with it. */
async function send(input: SendInput): Promise<{ id: string; createdAt: string }> {
  const n = { id: `${process.pid.toString(36)}-${(++seq).toString(36)}`, userId: input.userId, type: input.type, title: input.title, body: input.body, read: false, createdAt: new Date().toISOString() };
  const json = JSON.stringify(n);
  const key = inboxKey(input.userId);
  // Both go out in the same write: stored first, then published, on one connection.
  const stored = redis.multi().lpush(key, json).ltrim(key, 0, CAP - 1).expire(key, TTL_S).exec();
  const published = redis.publish(userChannel(input.userId), json);
  await Promise.all([stored, published]);
  return n;
}

const byUser = new Map<string, Set<WebSocket>>();
const byTopic = new Map<string, Set<WebSocket>>();
const nextFrame = (field: string, json: string) => `{"id":"1","type":"next","payload":{"data":{"${field}":${json}}}}`;

sub.on('message', (channel: string, message: string) => {
  if (channel.startsWith(topicChannel(''))) {
    const sockets = byTopic.get(channel.slice(topicChannel('').length));
    if (!sockets) return;
    const frame = nextFrame('topic', message);
    for (const s of sockets) if (s.readyState === WebSocket.OPEN) s.send(frame);
    return;
  }
  const sockets = byUser.get(channel.slice(userChannel('').length));
  if (!sockets) return;
  const frame = nextFrame('notificationReceived', message);
  for (const s of sockets) if (s.readyState === WebSocket.OPEN) s.send(frame);
});

/** Adds `ws` to `name`'s set; the first socket of a name SUBSCRIBEs, the last one's close UNSUBSCRIBEs. */
async function join(map: Map<string, Set<WebSocket>>, name: string, channel: string, ws: WebSocket): Promise<void> {
  let set = map.get(name);
  const first = !set;
  if (!set) map.set(name, (set = new Set()));
  set.add(ws);
  ws.once('close', () => {
    set.delete(ws);
    if (set.size === 0 && map.get(name) === set) {
      map.delete(name);
      void sub.unsubscribe(channel).catch(() => {});
    }
  });
  if (first) await sub.subscribe(channel);
}

const server = http.createServer((req, res) => {
  if (req.method !== 'POST' || req.url !== '/send') {
    res.writeHead(404).end();
    return;
  }
  const chunks: Buffer[] = [];
  req.on('data', (c: Buffer) => chunks.push(c));
  req.on('end', () => {
    let input: SendInput;
    try {
      input = JSON.parse(Buffer.concat(chunks).toString('utf8')) as SendInput;
    } catch {
      res.writeHead(400).end();
      return;
    }
    send(input).then(
      (n) => {
        const body = JSON.stringify({ data: { sendNotification: { notifications: [{ id: n.id }] } } });
        res.writeHead(200, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) });
        res.end(body);
      },
      (err: unknown) => {
        res.writeHead(500).end(String(err));
      },
    );
  });
});

const wss = new WebSocketServer({ server, perMessageDeflate: false });
wss.on('connection', (ws, req) => {
  const url = new URL(req.url ?? '/', 'http://relay');
  const user = url.searchParams.get('user');
  const topic = url.searchParams.get('topic');
  const joined = user ? join(byUser, user, userChannel(user), ws) : topic ? join(byTopic, topic, topicChannel(topic), ws) : Promise.resolve();
  void joined.then(() => ws.send('{"type":"ready"}'));
  ws.on('message', (data) => {
    const msg = JSON.parse(String(data)) as { id?: string; type: string; topic?: string; payload?: unknown };
    if (msg.type === 'publish') void redis.publish(topicChannel(msg.topic!), JSON.stringify(msg.payload));
    else if (msg.type === 'send')
      void send(msg.payload as SendInput).then((n) =>
        ws.send(`{"id":${JSON.stringify(msg.id)},"type":"next","payload":{"data":{"sendNotification":{"notifications":[{"id":"${n.id}"}]}}}}`),
      );
  });
});

server.listen(Number(portArg), '127.0.0.1', () => console.log('ready'));
process.on('SIGTERM', () => {
  for (const c of wss.clients) c.terminate();
  server.close();
  redis.disconnect();
  sub.disconnect();
  process.exit(0);
});
