--[[
  claimScheduled: lease the sends that are due to one deliverer.
  KEYS 1 sched  2 schedbody
  ARGV 1 now  2 limit  3 lease end (ms)
  Each claimed send's due time moves to the lease end: a deliverer that dies before
  completeScheduled gives it back then (redelivery is a no-op per user: see the delivery mark
  in sendNotification.lua).
  Returns flat {id, json, id, json, ...}, oldest due first.
]]
local ids = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', ARGV[1], 'LIMIT', 0, tonumber(ARGV[2]))
local out = {}
for _, id in ipairs(ids) do
  local body = redis.call('HGET', KEYS[2], id)
  if body then
    redis.call('ZADD', KEYS[1], ARGV[3], id)
    out[#out + 1] = id
    out[#out + 1] = body
  else
    redis.call('ZREM', KEYS[1], id)
  end
end
return out
