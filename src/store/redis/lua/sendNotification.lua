--[[
  sendNotification: store one own notification for one user (dedup, then mute, then cap).
  KEYS 1-14, ARGV 1-4: see user-common.lua;  KEYS 15 the day's stats hash (P{g}:stats:DAY)
  ARGV 5 type  6 priority rank  7 content JSON  8 expiresAt  9 dedup key ('' none)  10 dedup window end
       11 stats TTL ms
       12 delivery mark ('' or absent: none): a scheduled send's "#s:ID" (store.ts deliverScheduled),
          kept in the dedup zset; when present and live this is a redelivery  13 mark end (ms)
  Counts into KEYS[15]: 'dedup' +1 when deduplicated; 'sent' and 'type:<type>' +1 when stored.
  Publishes {"kind":"notification","id","v"} when stored.
  Returns {'ok', id} | {'dedup'} | {'muted'} | {'again'} (mark present: nothing done)
]]
if not ensureUser() then settle() end
local typ, expires = ARGV[5], ARGV[8]
local K_STATS = KEYS[15]
local function count(...)
  for _, field in ipairs({...}) do redis.call('HINCRBY', K_STATS, field, 1) end
  redis.call('PEXPIRE', K_STATS, ARGV[11])
end
if ARGV[12] and ARGV[12] ~= '' then
  -- Scheduled delivery: a second delivery of the same scheduled send (after a crash between
  -- delivering and removing it) finds the mark and changes nothing.
  local mark = redis.call('ZSCORE', K_DEDUP, ARGV[12])
  if mark and tonumber(mark) > NOW then
    finish()
    return {'again'}
  end
  redis.call('ZADD', K_DEDUP, ARGV[13], ARGV[12])
end
if ARGV[9] ~= '' then
  -- Atomic inside the script: 50 concurrent identical sends store one.
  local until_ = redis.call('ZSCORE', K_DEDUP, ARGV[9])
  if until_ and tonumber(until_) > NOW then
    -- settle() may have added or dropped items: keep the expiry index exact on this path too
    count('dedup')
    finish()
    return {'dedup'}
  end
  redis.call('ZADD', K_DEDUP, ARGV[10], ARGV[9])
end
if mutedSet()[typ] then
  finish()
  return {'muted'}
end
local seq = redis.call('INCR', K_SEQ)
local id = encodeId(seq)
-- The sender's own item is settled past too, so the watermark may move with it.
redis.call('HSET', K_USER, 'wm', seq)
redis.call('ZADD', K_INBOX, seq, id)
redis.call('ZADD', K_UNREAD, seq, id)
redis.call('ZADD', K_EXP, expires, id)
local value = typ .. '\t' .. ARGV[6] .. '\t' .. ARGV[7]
redis.call('HSET', K_ITEMS, id, value)
trim()
local maxexp = redis.call('GET', K_MAXEXP)
if not maxexp or tonumber(maxexp) < tonumber(expires) then redis.call('SET', K_MAXEXP, expires) end
redis.call('PUBLISH', CHANNEL, '{"kind":"notification","id":"' .. id .. '","v":' .. cjson.encode(value) .. '}')
count('sent', 'type:' .. typ)
finish()
return {'ok', id}
