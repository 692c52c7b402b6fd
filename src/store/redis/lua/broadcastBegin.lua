--[[
  broadcastBegin: the global step of a broadcast: its id and its dedup check (broadcastPart.lua
  then writes it into each partition).
  KEYS 1 the global id sequence ({g}:seq)  2 bdedup ({g}:bdedup)
  ARGV 1 now  2 dedup key ('' none)  3 dedup window end
  Even a deduplicated broadcast gets an id (Broadcast.id is non-null).
  Returns {id, deduplicated 0|1}
]]
-- The top of its millisecond: each partition can usually store it under this very id.
local id = encodeId(nextSeq(KEYS[1]))
if ARGV[2] ~= '' then
  redis.call('ZREMRANGEBYSCORE', KEYS[2], '-inf', ARGV[1])
  if redis.call('ZSCORE', KEYS[2], ARGV[2]) then return {id, 1} end
  redis.call('ZADD', KEYS[2], ARGV[3], ARGV[2])
end
return {id, 0}
