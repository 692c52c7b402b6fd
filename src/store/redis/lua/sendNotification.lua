--[[
  sendNotification: store one own notification for one user (dedup, then mute, then cap).
  KEYS, ARGV 1-4: see user-common.lua
  ARGV 5 type  6 priority rank  7 content JSON  8 expiresAt  9 dedup key ('' none)  10 dedup window end
  Publishes {"kind":"notification","id","v"} when stored.
  Returns {'ok', id} | {'dedup'} | {'muted'}
]]
if not ensureUser() then settle() end
local typ, expires = ARGV[5], ARGV[8]
if ARGV[9] ~= '' then
  -- Atomic inside the script: 50 concurrent identical sends store one.
  local until_ = redis.call('ZSCORE', K_DEDUP, ARGV[9])
  if until_ and tonumber(until_) > NOW then
    -- settle() may have added or dropped items: keep the expiry index exact on this path too
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
finish()
return {'ok', id}
