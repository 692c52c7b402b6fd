--[[
  pruneDeliveries: forgets finished deliveries whose retention has passed.
  KEYS 1 records  2 purge  3 log  4 failed  5 counts
  ARGV 1 now (ms)  2 at most this many
  Returns how many were forgotten.
]]
local ids = redis.call('ZRANGEBYSCORE', KEYS[2], '-inf', ARGV[1], 'LIMIT', 0, tonumber(ARGV[2]))
for _, id in ipairs(ids) do
  local raw = redis.call('HGET', KEYS[1], id)
  if raw then
    local d = cjson.decode(raw)
    redis.call('HINCRBY', KEYS[5], d.status, -1)
    redis.call('HINCRBY', KEYS[5], d.channel .. ':' .. d.status, -1)
    redis.call('HDEL', KEYS[1], id)
  end
  redis.call('ZREM', KEYS[2], id)
  redis.call('ZREM', KEYS[3], id)
  redis.call('ZREM', KEYS[4], id)
end
return #ids
