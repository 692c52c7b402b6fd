--[[
  beginJobRun: claim one run of a job for the whole cluster.
  KEYS 1 the job's lock (string)  2 the job's status hash
  ARGV 1 owner token (random per run owner)  2 lock TTL ms  3 slot: the scheduled occurrence
       in ms ('' for a manual run)
  A slot at or before the hash's lastSlot was already run (by a faster instance): 'done'.
  Otherwise SET lock token NX PX ttl; on success the slot is recorded.
  Returns 'started' | 'busy' | 'done'
]]
local slot = ARGV[3]
if slot ~= '' then
  local last = redis.call('HGET', KEYS[2], 'lastSlot')
  if last and tonumber(last) >= tonumber(slot) then return 'done' end
end
if not redis.call('SET', KEYS[1], ARGV[1], 'NX', 'PX', ARGV[2]) then return 'busy' end
if slot ~= '' then redis.call('HSET', KEYS[2], 'lastSlot', slot) end
return 'started'
