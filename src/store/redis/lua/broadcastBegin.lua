--[[
  broadcastBegin: the global step of a broadcast: its id and its dedup check. broadcastPart.lua
  then writes it into each partition (docs/redis-layout.md, "Redis Cluster").
  KEYS 1 the global sequence ({g}:seq)  2 bdedup  3 the resend guard ({g}:req:MINUTE)
  ARGV 1 now  2 dedup key ('' none)  3 dedup window end  4 the request id  5 how long the guard is kept (ms)
  Even a deduplicated broadcast gets an id (Broadcast.id is non-null). A resend of the same
  command (ioredis replays one whose reply was lost) gets the first reply.
  Returns {id, its sequence number (decimal), deduplicated '1'|'0'}
]]
local first = redis.call('HGET', KEYS[3], ARGV[4])
if first then return {string.match(first, '^([^:]+):([^:]+):([^:]+)$')} end
-- The top of its millisecond: each partition can usually store it under this very id.
local seq = nextSeq(KEYS[1], nil)
local reply = {encodeId(seq), string.format('%.0f', seq), '0'}
if ARGV[2] ~= '' then
  redis.call('ZREMRANGEBYSCORE', KEYS[2], '-inf', ARGV[1])
  if redis.call('ZSCORE', KEYS[2], ARGV[2]) then
    reply[3] = '1'
  else
    redis.call('ZADD', KEYS[2], ARGV[3], ARGV[2])
  end
end
redis.call('HSET', KEYS[3], ARGV[4], table.concat(reply, ':'))
redis.call('PEXPIRE', KEYS[3], ARGV[5])
return reply
