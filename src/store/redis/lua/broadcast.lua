--[[
  broadcast: commit one broadcast, written once whatever the audience (settle on touch
  materialises it per user later; see user-common.lua settle()).
  KEYS 1 seq  2 blog  3 bdrop  4 bcast  5 bexp  6 bdedup  7 maxexp  8 active  9 mutecount
       10 the day's stats hash (P{g}:stats:DAY)  11 epoch (P{g}:epoch, ids.lua nextSeq)
  ARGV 1 now  2 type  3 priority rank  4 content JSON  5 expiresAt  6 dedup key ('' none)
       7 dedup window end  8 saveOffline '1'|'0'  9 broadcast channel  10 stats TTL ms
  Counts into KEYS[10] as if copied: 'dedup' +audience when deduplicated; 'sent' and
  'type:<type>' +recipients when stored (a saveOffline:false broadcast stores nothing).
  Publishes {"kind":"broadcast","id","v","stored"} once (not per user) unless deduplicated.
  Returns {id, recipients, deduplicated, muted}
]]
local now, typ, expires = tonumber(ARGV[1]), ARGV[2], ARGV[5]
local function count(n, ...)
  if n <= 0 then return end
  for _, field in ipairs({...}) do redis.call('HINCRBY', KEYS[10], field, n) end
  redis.call('PEXPIRE', KEYS[10], ARGV[10])
end
local audience = redis.call('ZCARD', KEYS[8])
-- Even a deduplicated broadcast gets an id (Broadcast.id is non-null); it stores nothing.
local seq = nextSeq(KEYS[1], KEYS[11])
local id = encodeId(seq)
if ARGV[6] ~= '' then
  redis.call('ZREMRANGEBYSCORE', KEYS[6], '-inf', now)
  if redis.call('ZSCORE', KEYS[6], ARGV[6]) then
    count(audience, 'dedup')
    return {id, 0, audience, 0}
  end
  redis.call('ZADD', KEYS[6], ARGV[7], ARGV[6])
end
local muted = tonumber(redis.call('HGET', KEYS[9], typ) or '0')
local value = typ .. '\t' .. ARGV[3] .. '\t' .. ARGV[4]
local stored = ARGV[8] == '1'
redis.call('PUBLISH', ARGV[9], '{"kind":"broadcast","id":"' .. id .. '","v":' .. cjson.encode(value) ..
  ',"stored":' .. (stored and 'true' or 'false') .. '}')
if not stored then return {id, 0, 0, muted} end

redis.call('HSET', KEYS[4], id, value)
redis.call('ZADD', KEYS[5], expires, id)
local entry = id .. '|' .. typ .. '|' .. now .. '|' .. expires
redis.call('ZADD', KEYS[2], seq, entry)
-- The log entry matters while any item it could have pushed out under the cap still lives:
-- items older than it expire by the latest expiresAt issued so far.
local maxexp = tonumber(redis.call('GET', KEYS[7]) or '0')
if tonumber(expires) > maxexp then
  maxexp = tonumber(expires)
  redis.call('SET', KEYS[7], expires)
end
redis.call('ZADD', KEYS[3], maxexp, entry)
count(audience - muted, 'sent', 'type:' .. typ)
return {id, audience - muted, 0, muted}
