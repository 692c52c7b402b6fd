--[[
  retryDelivery: a dead letter (FAILED) back to PENDING, attempts reset, due now; same id.
  KEYS 1 records  2 due  3 failed  4 counts  5 purge
  ARGV 1 delivery id  2 now (ms)
  Returns the record's new JSON | 'not_found' | 'not_failed'
]]
local raw = redis.call('HGET', KEYS[1], ARGV[1])
if not raw then return 'not_found' end
local d = cjson.decode(raw)
if d.status ~= 'FAILED' then return 'not_failed' end
local now = tonumber(ARGV[2])
d.status, d.attempts, d.lastError, d.nextAttemptAt = 'PENDING', 0, cjson.null, now
redis.call('ZADD', KEYS[2], now, ARGV[1])
redis.call('ZREM', KEYS[3], ARGV[1])
redis.call('ZREM', KEYS[5], ARGV[1])
redis.call('HINCRBY', KEYS[4], 'FAILED', -1)
redis.call('HINCRBY', KEYS[4], d.channel .. ':FAILED', -1)
redis.call('HINCRBY', KEYS[4], 'PENDING', 1)
redis.call('HINCRBY', KEYS[4], d.channel .. ':PENDING', 1)
local out = cjson.encode(d)
redis.call('HSET', KEYS[1], ARGV[1], out)
return out
