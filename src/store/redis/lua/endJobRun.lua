--[[
  endJobRun: record how a run ended, then release the lock if (and only if) we still own it.
  KEYS 1 the job's lock (string)  2 the job's status hash
  ARGV 1 owner token ('' releases nothing)  2 lastRunAt (ms)  3 lastStatus
  Returns 1 when the lock was released, 0 when it had expired or belongs to another run.
]]
redis.call('HSET', KEYS[2], 'lastRunAt', ARGV[2], 'lastStatus', ARGV[3])
if ARGV[1] ~= '' and redis.call('GET', KEYS[1]) == ARGV[1] then
  redis.call('DEL', KEYS[1])
  return 1
end
return 0
