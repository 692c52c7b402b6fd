--[[
  broadcastPart: one partition's share of a broadcast, written once whatever the partition's
  audience (settle on touch materialises it per user later; see user-common.lua settle()).
  KEYS 1 seq  2 blog  3 bdrop  4 bcast  5 bexp  6 maxexp  7 active  8 mutecount  9 the day's
       counters  10 epoch  11 the resend guard (P{p:N}:req:MINUTE)   (all the partition's, {p:N})
  ARGV 1 now  2 type  3 priority rank  4 content JSON (an object)  5 expiresAt  6 saveOffline '1'|'0'
       7 the partition's broadcast channel  8 stats TTL ms  9 the broadcast id (broadcastBegin.lua)
       10 its sequence number (decimal)  11 deduplicated '1'|'0'  12 the request id
       13 how long the guard is kept (ms)
  The partition stores it under the broadcast id when that is above everything the partition
  issued (the usual case: broadcastBegin takes the top of its millisecond), and moves its
  sequence there; otherwise under its own next id, with the broadcast id in the content as
  "broadcastId". Either way it sorts after everything the partition issued before, so each
  user's order and cursors stay exact.
  Counts into KEYS[9] as if copied: 'dedup' +audience when deduplicated; 'sent' and
  'type:<type>' +recipients when stored (a saveOffline:false broadcast stores nothing).
  Publishes {"kind":"broadcast","id","v","stored"} once on the partition's sharded channel
  unless deduplicated. A resend of the same command gets the first reply.
  Returns {recipients, deduplicated, muted} of this partition
]]
local field = 'b:' .. ARGV[12]
local first = redis.call('HGET', KEYS[11], field)
if first then
  local r, d, m = string.match(first, '^(%d+):(%d+):(%d+)$')
  return {tonumber(r), tonumber(d), tonumber(m)}
end
local function remember(r, d, m)
  redis.call('HSET', KEYS[11], field, r .. ':' .. d .. ':' .. m)
  redis.call('PEXPIRE', KEYS[11], ARGV[13])
  return {r, d, m}
end

local now, typ, expires = tonumber(ARGV[1]), ARGV[2], ARGV[5]
local function count(n, ...)
  if n <= 0 then return end
  for _, f in ipairs({...}) do redis.call('HINCRBY', KEYS[9], f, n) end
  redis.call('PEXPIRE', KEYS[9], ARGV[8])
end
local audience = redis.call('ZCARD', KEYS[7])
if ARGV[11] == '1' then
  count(audience, 'dedup')
  return remember(0, audience, 0)
end
local muted = tonumber(redis.call('HGET', KEYS[8], typ) or '0')
local seq, json = ARGV[10], ARGV[4]
if redis.call('EXISTS', KEYS[10]) == 0 then ensureEpoch(KEYS[1], KEYS[10]) end
if tonumber(redis.call('GET', KEYS[1]) or '0') < tonumber(seq) then
  redis.call('SET', KEYS[1], seq)
else
  seq = nextSeq(KEYS[1], nil) -- the epoch was made above if missing: not read again
  json = string.sub(json, 1, -2) .. ',"broadcastId":"' .. ARGV[9] .. '"}'
end
local id = encodeId(seq)
local value = typ .. '\t' .. ARGV[3] .. '\t' .. json
local stored = ARGV[6] == '1'
redis.call('SPUBLISH', ARGV[7], '{"kind":"broadcast","id":"' .. id .. '","v":' .. cjson.encode(value) ..
  ',"stored":' .. (stored and 'true' or 'false') .. '}')
if not stored then return remember(0, 0, muted) end

redis.call('HSET', KEYS[4], id, value)
redis.call('ZADD', KEYS[5], expires, id)
local entry = id .. '|' .. typ .. '|' .. now .. '|' .. expires
redis.call('ZADD', KEYS[2], seq, entry)
-- The log entry matters while any item it could have pushed out under the cap still lives:
-- items older than it expire by the latest expiresAt issued so far.
local maxexp = tonumber(redis.call('GET', KEYS[6]) or '0')
if tonumber(expires) > maxexp then
  maxexp = tonumber(expires)
  redis.call('SET', KEYS[6], expires)
end
redis.call('ZADD', KEYS[3], maxexp, entry)
count(audience - muted, 'sent', 'type:' .. typ)
return remember(audience - muted, 0, muted)
