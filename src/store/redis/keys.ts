/**
 * Every Redis key this server uses, and nothing else builds one.
 *
 * | pattern                          | type   | holds                                                    | written by            |
 * |----------------------------------|--------|----------------------------------------------------------|-----------------------|
 * | P{g}:seq                         | string | last issued sequence number (ids of items & broadcasts)  | send, broadcast       |
 * | P{g}:blog                        | zset   | broadcast log: "id|type|createdAt|expiresAt" by seq      | broadcast, prune      |
 * | P{g}:bdrop                       | zset   | same members by the time the log entry can go            | broadcast, prune      |
 * | P{g}:bcast                       | hash   | broadcast id -> "type\trank\tjson" (body)                | broadcast, prune      |
 * | P{g}:bexp                        | zset   | broadcast id by expiresAt (when its body can go)         | broadcast, prune      |
 * | P{g}:bdedup                      | zset   | broadcast dedup key by window end                        | broadcast             |
 * | P{g}:maxexp                      | string | latest expiresAt ever issued (bounds log retention)      | send, broadcast       |
 * | P{g}:active                      | zset   | active user id by activation time                        | user scripts          |
 * | P{g}:mutecount                   | hash   | type -> number of active users who muted it              | user scripts          |
 * | P{g}:due                         | zset   | user id by its next expiry (item or dedup mark)          | every user script     |
 * | P{g}:policies                    | hash   | type -> policy JSON                                      | setPolicy             |
 * | P{g}:templates                   | hash   | name -> template JSON                                    | upsertTemplate        |
 * | P{u:ID}:user                     | hash   | name, active, created, wm (settled seq), muted, channels | user scripts          |
 * | P{u:ID}:inbox                    | zset   | item id by seq (own items and settled broadcasts)        | user scripts          |
 * | P{u:ID}:unread                   | zset   | unread item id by seq                                    | user scripts          |
 * | P{u:ID}:exp                      | zset   | item id by expiresAt                                     | user scripts          |
 * | P{u:ID}:items                    | hash   | own item id -> "type\trank\tjson"; broadcast id -> ""    | user scripts          |
 * | P{u:ID}:readat                   | hash   | item id -> readAt ms                                     | user scripts          |
 * | P{u:ID}:dedup                    | zset   | dedup key by window end                                  | send                  |
 *
 * P is the configured prefix (default "ntf:"). A user's keys share the hash tag {u:ID}; the
 * global keys share {g}. User ids are restricted to [A-Za-z0-9_.@-] so they can't break a tag.
 * docs/redis-layout.md mirrors this table.
 */

export interface GlobalKeys {
  seq: string;
  blog: string;
  bdrop: string;
  bcast: string;
  bexp: string;
  bdedup: string;
  maxexp: string;
  active: string;
  mutecount: string;
  due: string;
  policies: string;
  templates: string;
}

export interface UserKeys {
  user: string;
  inbox: string;
  unread: string;
  exp: string;
  items: string;
  readat: string;
  dedup: string;
}

export interface KeySpace {
  prefix: string;
  global: GlobalKeys;
  user(userId: string): UserKeys;
}

export function keySpace(prefix = 'ntf:'): KeySpace {
  const g = (name: string) => `${prefix}{g}:${name}`;
  return {
    prefix,
    global: {
      seq: g('seq'),
      blog: g('blog'),
      bdrop: g('bdrop'),
      bcast: g('bcast'),
      bexp: g('bexp'),
      bdedup: g('bdedup'),
      maxexp: g('maxexp'),
      active: g('active'),
      mutecount: g('mutecount'),
      due: g('due'),
      policies: g('policies'),
      templates: g('templates'),
    },
    user(userId) {
      const u = (name: string) => `${prefix}{u:${userId}}:${name}`;
      return {
        user: u('user'),
        inbox: u('inbox'),
        unread: u('unread'),
        exp: u('exp'),
        items: u('items'),
        readat: u('readat'),
        dedup: u('dedup'),
      };
    },
  };
}

/**
 * The KEYS every per-user script receives, in this order (lua/include/user-keys.lua names them).
 * Global keys ride along because settling reads the broadcast log and user scripts keep the
 * active set, mute counts and the expiry index exact; see docs/architecture.md on Cluster.
 */
export function userScriptKeys(ks: KeySpace, userId: string): string[] {
  const u = ks.user(userId);
  const g = ks.global;
  return [u.user, u.inbox, u.unread, u.exp, u.items, u.readat, u.dedup, g.seq, g.blog, g.bcast, g.active, g.mutecount, g.due, g.maxexp];
}
