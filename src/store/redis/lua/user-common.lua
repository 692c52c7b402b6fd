--[[
  Shared by every per-user script (included, not copied: scripts.ts prepends it).

  KEYS (scripts.ts USER_KEYS; keys.ts UserKeys and PartitionKeys):
    1 user  2 inbox  3 unread  4 exp  5 items  6 dedup                     (the user's)
    7 seq   8 blog   9 bcast  10 active  11 mutecount  12 due  13 maxexp   (its partition's)
  All carry the user's partition tag {p:N}: one Redis Cluster slot.
  Every script's ARGV starts with:
    1 now (ms)  2 cap  3 user id  4 the user's event channel (the store is given the names)
  Events (store/events.ts) are published inside the script, so they leave in commit order; the
  user's channel is a sharded one in the same slot (SPUBLISH):
    {"kind":"unread","count":N,"read":[ids],"unread":[ids],"removed":[ids]} whenever the script
    changed the unread count or the read state, or removed items (finish(); empty lists left out).
  The items hash: own item id -> "type\trank\tjson"; "@" .. id -> readAt (ms) of a read item.
  A settled broadcast is in the inbox only: its body is the partition's (bcast), so a returning
  user pays for a few index entries, not a copy.
  The user hash's `rmid` is the highest id ever removed from this inbox (cap, expiry, delete):
  a resume after an id >= rmid lost nothing (inboxSnapshot.lua).
]]
local K_USER, K_INBOX, K_UNREAD, K_EXP, K_ITEMS, K_DEDUP =
  KEYS[1], KEYS[2], KEYS[3], KEYS[4], KEYS[5], KEYS[6]
local K_SEQ, K_BLOG, K_BCAST, K_ACTIVE, K_MUTECOUNT, K_DUE, K_MAXEXP =
  KEYS[7], KEYS[8], KEYS[9], KEYS[10], KEYS[11], KEYS[12], KEYS[13]
-- An item's read time lives beside it in the items hash: no key of its own per user.
local function readAtField(id) return '@' .. id end
local NOW = tonumber(ARGV[1])
-- Arguments of redis.call are passed as strings where they can be: Redis 7.0 turns each Lua
-- number it is given into text with snprintf("%.17g"), about 5 % of a send's time in Redis.
local NOW_ARG = ARGV[1]
local CAP = tonumber(ARGV[2])
local USER_ID = ARGV[3]
local CHANNEL = ARGV[4]
local UNREAD_BEFORE = redis.call('ZCARD', K_UNREAD)
-- What this script changed, published by finish() for inbox streams.
local CHANGED_READ, CHANGED_UNREAD, CHANGED_REMOVED = {}, {}, {}
-- Events that leave with finish()'s, in one message (see finish()).
local QUEUED = {}

-- Every id passed is in the inbox (callers take them from its indexes or check them).
local function removeItems(ids)
  if #ids == 0 then return end
  -- Ids are fixed-width, so string order is id order.
  local top = redis.call('HGET', K_USER, 'rmid') or ''
  for _, id in ipairs(ids) do
    CHANGED_REMOVED[#CHANGED_REMOVED + 1] = id
    if id > top then top = id end
  end
  redis.call('HSET', K_USER, 'rmid', top)
  redis.call('ZREM', K_INBOX, unpack(ids))
  redis.call('ZREM', K_UNREAD, unpack(ids))
  redis.call('ZREM', K_EXP, unpack(ids))
  local fields = {}
  for _, id in ipairs(ids) do
    fields[#fields + 1] = id
    fields[#fields + 1] = readAtField(id)
  end
  redis.call('HDEL', K_ITEMS, unpack(fields))
end

-- Everything with expiresAt <= t is gone.
local function purgeAt(t)
  removeItems(redis.call('ZRANGEBYSCORE', K_EXP, '-inf', t))
end

-- Newest CAP items stay; what falls out never comes back.
local function trim()
  local n = redis.call('ZCARD', K_INBOX)
  if n > CAP then
    removeItems(redis.call('ZRANGE', K_INBOX, 0, n - CAP - 1))
  end
end

local function mutedSet()
  local raw = redis.call('HGET', K_USER, 'muted')
  local set = {}
  if raw and raw ~= '' then
    for _, t in ipairs(cjson.decode(raw)) do set[t] = true end
  end
  return set
end

local function isActive()
  return redis.call('HGET', K_USER, 'active') == '1'
end

-- Creates the user (active, watermark = now's sequence) when missing. Returns true if created.
local function ensureUser()
  if redis.call('EXISTS', K_USER) == 1 then return false end
  redis.call('HSET', K_USER, 'active', '1', 'created', NOW_ARG, 'wm', redis.call('GET', K_SEQ) or '0')
  redis.call('ZADD', K_ACTIVE, NOW_ARG, USER_ID)
  return true
end

--[[
  Settle on touch: materialise, in order, the broadcasts committed since the watermark,
  exactly as a copy at commit time would have been stored (mute, expiry at that moment, cap);
  then drop what has expired now. While inactive the watermark just moves on. The watermark
  (`wm`) is the sequence number of the last broadcast settled past; a partition's broadcasts
  take its sequence numbers in commit order (broadcastPart.lua), so every broadcast committed
  later is above it.
]]
local function settle()
  local wm = redis.call('HGET', K_USER, 'wm')
  if not wm then return end
  -- Only a broadcast past the watermark needs work. Compared with the partition's newest
  -- broadcast, not its sequence, which every other user's send moves on.
  local top = redis.call('ZRANGE', K_BLOG, '-1', '-1', 'WITHSCORES')[2]
  if top and tonumber(top) > tonumber(wm) then
    if isActive() then
      local pending = redis.call('ZRANGEBYSCORE', K_BLOG, '(' .. wm, '+inf', 'WITHSCORES')
      if #pending > 0 then
        local muted = mutedSet()
        for i = 1, #pending, 2 do
          local id, typ, created, expires = string.match(pending[i], '^([^|]+)|([^|]+)|([^|]+)|([^|]+)$')
          -- An already expired one is inserted too: while it lived it held a place under the cap.
          if not muted[typ] then
            purgeAt(created)
            local s = pending[i + 1]
            redis.call('ZADD', K_INBOX, s, id)
            redis.call('ZADD', K_UNREAD, s, id)
            redis.call('ZADD', K_EXP, expires, id)
            trim()
          end
        end
      end
    end
    redis.call('HSET', K_USER, 'wm', string.format('%.0f', tonumber(top)))
  end
  purgeAt(NOW_ARG)
end

-- The expiry index holds each user at its next expiry (item or dedup mark), or not at all.
local function updateDue()
  local nextDedup = redis.call('ZRANGE', K_DEDUP, '0', '0', 'WITHSCORES')[2]
  -- Marks are dropped only when one has passed: usually none has, and a read costs less.
  if nextDedup and tonumber(nextDedup) <= NOW then
    redis.call('ZREMRANGEBYSCORE', K_DEDUP, '-inf', NOW_ARG)
    nextDedup = redis.call('ZRANGE', K_DEDUP, '0', '0', 'WITHSCORES')[2]
  end
  local nextExp = redis.call('ZRANGE', K_EXP, '0', '0', 'WITHSCORES')[2]
  local due = nextExp
  if nextDedup and (not due or tonumber(nextDedup) < tonumber(due)) then due = nextDedup end
  if due then
    redis.call('ZADD', K_DUE, due, USER_ID)
  else
    redis.call('ZREM', K_DUE, USER_ID)
  end
end

-- The stored value of an item: own items inline, broadcasts from the shared body.
local function itemValue(id)
  return redis.call('HGET', K_ITEMS, id) or redis.call('HGET', K_BCAST, id)
end

-- Flat reply: id, value, readAt ('' when unread) for each id the inbox holds.
local function replyItems(ids)
  local out = {}
  for _, id in ipairs(ids) do
    if redis.call('ZSCORE', K_INBOX, id) then
      local v = itemValue(id)
      if v then
        out[#out + 1] = id
        out[#out + 1] = v
        out[#out + 1] = redis.call('HGET', K_ITEMS, readAtField(id)) or ''
      end
    end
  end
  return out
end

-- mutecount counts active users per muted type; a zero is deleted, not kept.
local function bumpMuteCount(t, delta)
  if redis.call('HINCRBY', K_MUTECOUNT, t, delta) <= 0 then redis.call('HDEL', K_MUTECOUNT, t) end
end

local function setActive(active)
  local delta = active and 1 or -1
  for t in pairs(mutedSet()) do bumpMuteCount(t, delta) end
  if active then
    redis.call('ZADD', K_ACTIVE, NOW_ARG, USER_ID)
    redis.call('HSET', K_USER, 'active', '1')
  else
    redis.call('ZREM', K_ACTIVE, USER_ID)
    redis.call('HSET', K_USER, 'active', '0')
  end
end

-- Every script ends here: keep the expiry index right and tell every device about a new count
-- and about read-state changes and removals (the inbox stream's readIds/unreadIds/removedIds).
-- Queued events go first, in the same message: one event alone as itself, several as a JSON
-- array in commit order (store/events.ts). A send's notification and its new count are one
-- SPUBLISH, not two.
local function finish()
  updateDue()
  local unread = redis.call('ZCARD', K_UNREAD)
  if unread ~= UNREAD_BEFORE or #CHANGED_READ > 0 or #CHANGED_UNREAD > 0 or #CHANGED_REMOVED > 0 then
    local ev = '{"kind":"unread","count":' .. unread
    -- cjson would encode an empty table as {}: empty lists are left out
    if #CHANGED_READ > 0 then ev = ev .. ',"read":' .. cjson.encode(CHANGED_READ) end
    if #CHANGED_UNREAD > 0 then ev = ev .. ',"unread":' .. cjson.encode(CHANGED_UNREAD) end
    if #CHANGED_REMOVED > 0 then ev = ev .. ',"removed":' .. cjson.encode(CHANGED_REMOVED) end
    QUEUED[#QUEUED + 1] = ev .. '}'
  end
  if #QUEUED == 1 then
    redis.call('SPUBLISH', CHANNEL, QUEUED[1])
  elseif #QUEUED > 1 then
    redis.call('SPUBLISH', CHANNEL, '[' .. table.concat(QUEUED, ',') .. ']')
  end
end

-- Activation and mute changes steer live broadcast filters on every instance.
local function publishUserState()
  redis.call('SPUBLISH', CHANNEL, '{"kind":"user","active":' .. (isActive() and 'true' or 'false') ..
    ',"muted":' .. (redis.call('HGET', K_USER, 'muted') or '[]') .. '}')
end
