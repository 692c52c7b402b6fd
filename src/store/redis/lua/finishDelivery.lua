--[[
  finishDelivery: records the outcome of an attempt and releases the stream entry (XACK, XDEL).
  A delivery that is no longer PENDING or RETRYING (a reclaimed duplicate, a retried one) is
  only released. Mirrors delivery-store.ts applyOutcome().
  KEYS 1 records  2 due  3 the channel's ready stream  4 failed  5 counts  6 purge
  ARGV 1 delivery id  2 stream entry id  3 group  4 now (ms)
       5 outcome: delivered | retry | failed | skipped | defer
       6 error or reason ('' none)  7 next attempt at (retry, defer)  8 max attempts (retry)
       9 retention of a finished delivery (ms)
  Returns the record's new JSON, or '' when it was only released.
]]
local K_REC, K_DUE, K_READY, K_FAILED, K_COUNTS, K_PURGE = KEYS[1], KEYS[2], KEYS[3], KEYS[4], KEYS[5], KEYS[6]
local id, now, kind = ARGV[1], tonumber(ARGV[4]), ARGV[5]
redis.call('XACK', K_READY, ARGV[3], ARGV[2])
redis.call('XDEL', K_READY, ARGV[2])
local raw = redis.call('HGET', K_REC, id)
if not raw then return '' end
local d = cjson.decode(raw)
if d.status ~= 'PENDING' and d.status ~= 'RETRYING' then return '' end
local before = d.status
if kind == 'delivered' then
  d.status, d.attempts, d.lastError, d.nextAttemptAt, d.deliveredAt = 'DELIVERED', d.attempts + 1, cjson.null, cjson.null, now
elseif kind == 'retry' then
  d.attempts, d.lastError = d.attempts + 1, ARGV[6]
  if d.attempts >= tonumber(ARGV[8]) then
    d.status, d.nextAttemptAt = 'FAILED', cjson.null
  else
    d.status, d.nextAttemptAt = 'RETRYING', tonumber(ARGV[7])
  end
elseif kind == 'failed' then
  d.status, d.attempts, d.lastError, d.nextAttemptAt = 'FAILED', d.attempts + 1, ARGV[6], cjson.null
elseif kind == 'skipped' then
  d.status, d.lastError, d.nextAttemptAt = 'SKIPPED', ARGV[6], cjson.null
elseif kind == 'defer' then
  d.nextAttemptAt = tonumber(ARGV[7])
else
  return redis.error_reply('finishDelivery: unknown outcome ' .. kind)
end
if d.status == 'PENDING' or d.status == 'RETRYING' then
  redis.call('ZADD', K_DUE, d.nextAttemptAt, id)
else
  redis.call('ZADD', K_PURGE, now + tonumber(ARGV[9]), id)
end
if d.status == 'FAILED' then redis.call('ZADD', K_FAILED, 0, id) end
if d.status ~= before then
  redis.call('HINCRBY', K_COUNTS, before, -1)
  redis.call('HINCRBY', K_COUNTS, d.channel .. ':' .. before, -1)
  redis.call('HINCRBY', K_COUNTS, d.status, 1)
  redis.call('HINCRBY', K_COUNTS, d.channel .. ':' .. d.status, 1)
end
local out = cjson.encode(d)
redis.call('HSET', K_REC, id, out)
return out
