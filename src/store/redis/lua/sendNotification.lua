--[[
  sendNotification: store one own notification for one user (dedup, then mute, then cap).
  KEYS, ARGV 1-3: see user-common.lua
  ARGV 4 type  5 priority rank  6 content JSON  7 expiresAt  8 dedup key ('' none)  9 dedup window end
  Returns {'ok', id} | {'dedup'} | {'muted'}
]]
if not ensureUser() then settle() end
local typ, expires = ARGV[4], ARGV[7]
if ARGV[8] ~= '' then
  -- Atomic inside the script: 50 concurrent identical sends store one.
  local until_ = redis.call('ZSCORE', K_DEDUP, ARGV[8])
  if until_ and tonumber(until_) > NOW then
    -- settle() may have added or dropped items: keep the expiry index exact on this path too
    updateDue()
    return {'dedup'}
  end
  redis.call('ZADD', K_DEDUP, ARGV[9], ARGV[8])
end
if mutedSet()[typ] then
  updateDue()
  return {'muted'}
end
local seq = redis.call('INCR', K_SEQ)
local id = encodeId(seq)
-- The sender's own item is settled past too, so the watermark may move with it.
redis.call('HSET', K_USER, 'wm', seq)
redis.call('ZADD', K_INBOX, seq, id)
redis.call('ZADD', K_UNREAD, seq, id)
redis.call('ZADD', K_EXP, expires, id)
redis.call('HSET', K_ITEMS, id, typ .. '\t' .. ARGV[5] .. '\t' .. ARGV[6])
trim()
local maxexp = redis.call('GET', K_MAXEXP)
if not maxexp or tonumber(maxexp) < tonumber(expires) then redis.call('SET', K_MAXEXP, expires) end
updateDue()
return {'ok', id}
