--[[
  scheduleSend: keep a send (future sendAt) until the scheduler delivers it.
  KEYS 1 the global sequence ({g}:seq)  2 sched  3 schedbody
  ARGV 1 sendAt (ms)  2 the send as JSON (users, resolved content, ttl, dedup)
  Returns the scheduled id (next value of the id sequence, fixed-width base36).
]]
local id = encodeId(nextSeq(KEYS[1], nil))
redis.call('HSET', KEYS[3], id, ARGV[2])
redis.call('ZADD', KEYS[2], ARGV[1], id)
return id
