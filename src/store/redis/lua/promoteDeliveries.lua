--[[
  promoteDeliveries: deliveries whose time has come (escalation, retry, throttle) move from the
  due set to their channel's ready stream.
  KEYS 1 due (the partition outbox's, P{p:N}:o:due)  2 ready:WEBHOOK  3 ready:TELEGRAM  4 ready:WECOM
  ARGV 1 now (ms)  2 at most this many
  Returns {how many moved, when the next one is due ('' none)}.
]]
local ready = {w = KEYS[2], t = KEYS[3], c = KEYS[4]}
local ids = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', ARGV[1], 'LIMIT', 0, tonumber(ARGV[2]))
for _, id in ipairs(ids) do
  redis.call('XADD', ready[string.sub(id, -1)], '*', 'd', id)
  redis.call('ZREM', KEYS[1], id)
end
local next = redis.call('ZRANGE', KEYS[1], 0, 0, 'WITHSCORES')
return {#ids, next[2] or ''}
