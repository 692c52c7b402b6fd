--[[
  pruneBroadcasts: drop one partition's broadcast bodies past their expiry and log entries past
  their use.
  KEYS 1 blog  2 bdrop  3 bcast  4 bexp  5 maxexp (the partition's, {p:N})
  ARGV 1 now
  Returns the number of bodies dropped.
]]
local now = ARGV[1]
local bodies = redis.call('ZRANGEBYSCORE', KEYS[4], '-inf', now)
if #bodies > 0 then
  redis.call('HDEL', KEYS[3], unpack(bodies))
  redis.call('ZREM', KEYS[4], unpack(bodies))
end
local entries = redis.call('ZRANGEBYSCORE', KEYS[2], '-inf', now)
if #entries > 0 then
  redis.call('ZREM', KEYS[1], unpack(entries))
  redis.call('ZREM', KEYS[2], unpack(entries))
end
-- Once everything issued has expired the bound is meaningless; leave no key behind.
local maxexp = redis.call('GET', KEYS[5])
if maxexp and tonumber(maxexp) <= tonumber(now) then redis.call('DEL', KEYS[5]) end
return #bodies
