--[[
  sendNotification: store one own notification for one user (dedup, then mute, then cap).
  KEYS 1-13, ARGV 1-4: see user-common.lua;  KEYS 14 the partition's day counters (P{p:N}:stats:DAY)
  ARGV 5 type  6 priority rank  7 content JSON  8 expiresAt  9 dedup key ('' none)  10 dedup window end
       11 stats TTL ms
       12 delivery mark ('' or absent: none): a scheduled send's "#s:ID" (NotificationService.deliverScheduled),
          kept in the dedup zset; when present and live this is a redelivery  13 mark end (ms)
       14 external channels to deliver to, comma-separated ('' or absent: in-app only)
       15 escalation delay ms (0: at once)  16 retention of a finished delivery ms
       17 reason recorded for an opted-out channel  18 reason for a channel without address
  KEYS 15 the user's addresses; the partition's outbox (keys.ts OutboxKeys):
       16 records  17 due  18 log  19 counts  20 purge  21 ready:WEBHOOK  22 ready:TELEGRAM  23 ready:WECOM
  KEYS 24 the partition's epoch (ids.lua nextSeq)
       25 the resend guard (P{p:N}:req:MINUTE: request id -> the first reply)
  ARGV 19 the request id (unique per store call and user position)  20 how long from now its key is kept (ms, keys.ts requestGuardTtl)
  Runs once per request and user: a resend of the same command (ioredis replays one whose
  connection dropped before its reply, e.g. in a failover) finds the first reply and changes
  nothing. All KEYS carry the user's partition tag: one slot.
  Counts into KEYS[14]: 'dedup' +1 when deduplicated; 'sent' and 'type:<type>' +1 when stored.
  Deliveries (only when stored): per requested channel, the send's channels ∩ the user's
  preferences for the type (its own entry, else "*") ∩ its addresses: PENDING (queued on the
  channel's ready stream, or due at now + delay when escalating), else SKIPPED with the reason.
  The record is store/deliveries.ts Delivery as JSON. Mirrors deliveries.ts route().
  Publishes {"kind":"notification","id","v"} when stored, with the unread event after it in one
  message (finish()).
  Returns {'ok', id} | {'dedup'} | {'muted'} | {'again'} (mark present: nothing done); a resend
  gets the first reply again.
]]
local K_STATS, K_ADDR, K_REC, K_ODUE, K_LOG, K_COUNTS, K_PURGE, K_EPOCH, K_REQ =
  KEYS[14], KEYS[15], KEYS[16], KEYS[17], KEYS[18], KEYS[19], KEYS[20], KEYS[24], KEYS[25]
local K_READY = {WEBHOOK = KEYS[21], TELEGRAM = KEYS[22], WECOM = KEYS[23]}
local REQ_FIELD = ARGV[19]
local first = redis.call('HGET', K_REQ, REQ_FIELD)
if first then
  local status, id = string.match(first, '^(%a+):?(.*)$')
  return id ~= '' and {status, id} or {status}
end
local function remember(reply)
  -- The '~' field is there from the guard's first write on: two new fields mean a new key,
  -- which alone needs its lifetime (a call less per send than setting it every time).
  if redis.call('HSET', K_REQ, REQ_FIELD, reply[1] .. ':' .. (reply[2] or ''), '~', '') == 2 then
    redis.call('PEXPIRE', K_REQ, ARGV[20])
  end
  return reply
end

local function run()
if not ensureUser() then settle() end
local typ, expires = ARGV[5], ARGV[8]
local function count(...)
  local fresh = false
  for _, field in ipairs({...}) do
    if redis.call('HINCRBY', K_STATS, field, '1') == 1 then fresh = true end
  end
  -- Only a new field can mean a new key; every writer of the day's counters sets its lifetime so.
  if fresh then redis.call('PEXPIRE', K_STATS, ARGV[11]) end
end
if ARGV[12] and ARGV[12] ~= '' then
  -- Scheduled delivery: a second delivery of the same scheduled send (after a crash between
  -- delivering and removing it) finds the mark and changes nothing.
  local mark = redis.call('ZSCORE', K_DEDUP, ARGV[12])
  if mark and tonumber(mark) > NOW then
    finish()
    return {'again'}
  end
  redis.call('ZADD', K_DEDUP, ARGV[13], ARGV[12])
end
if ARGV[9] ~= '' then
  -- Atomic inside the script: 50 concurrent identical sends store one.
  local until_ = redis.call('ZSCORE', K_DEDUP, ARGV[9])
  if until_ and tonumber(until_) > NOW then
    -- settle() may have added or dropped items: keep the expiry index exact on this path too
    count('dedup')
    finish()
    return {'dedup'}
  end
  redis.call('ZADD', K_DEDUP, ARGV[10], ARGV[9])
end
if mutedSet()[typ] then
  finish()
  return {'muted'}
end
local function queueDeliveries(id, value)
  local requested = ARGV[14]
  if not requested or requested == '' then return end
  local wanted = {}
  local raw = redis.call('HGET', K_USER, 'channels')
  if raw and raw ~= '' then
    local own, star
    for _, e in ipairs(cjson.decode(raw)) do
      if e.type == typ then own = e elseif e.type == '*' then star = e end
    end
    local entry = own or star
    if entry then for _, c in ipairs(entry.channels) do wanted[c] = true end end
  end
  local delay, retention = tonumber(ARGV[15]), tonumber(ARGV[16])
  local code = {WEBHOOK = 'w', TELEGRAM = 't', WECOM = 'c'}
  for channel in string.gmatch(requested, '[^,]+') do
    local did = id .. '-' .. code[channel]
    local status, err, nextAt = 'PENDING', cjson.null, cjson.null
    if not wanted[channel] then
      status, err = 'SKIPPED', ARGV[17]
    elseif redis.call('HEXISTS', K_ADDR, channel) == 0 then
      status, err = 'SKIPPED', ARGV[18]
    end
    if status == 'SKIPPED' then
      redis.call('ZADD', K_PURGE, NOW + retention, did)
    elseif delay > 0 then
      nextAt = NOW + delay
      redis.call('ZADD', K_ODUE, nextAt, did)
    else
      redis.call('XADD', K_READY[channel], '*', 'd', did)
    end
    redis.call('HSET', K_REC, did, cjson.encode({
      id = did, notificationId = id, userId = USER_ID, channel = channel, status = status, attempts = 0,
      lastError = err, createdAt = NOW, nextAttemptAt = nextAt, deliveredAt = cjson.null,
      escalate = delay > 0, content = value,
    }))
    redis.call('ZADD', K_LOG, 0, did)
    redis.call('HINCRBY', K_COUNTS, status, 1)
    redis.call('HINCRBY', K_COUNTS, channel .. ':' .. status, 1)
  end
end

local seq, seqText = nextSeq(K_SEQ, K_EPOCH)
local id = encodeId(seq)
redis.call('ZADD', K_INBOX, seqText, id)
redis.call('ZADD', K_UNREAD, seqText, id)
redis.call('ZADD', K_EXP, expires, id)
local value = typ .. '\t' .. ARGV[6] .. '\t' .. ARGV[7]
redis.call('HSET', K_ITEMS, id, value)
trim()
local maxexp = redis.call('GET', K_MAXEXP)
if not maxexp or tonumber(maxexp) < tonumber(expires) then
  -- An upper bound is enough (log entries are kept up to a minute longer): rounded up to the
  -- minute, it is written about once a minute, not on every send as time moves on.
  redis.call('SET', K_MAXEXP, string.format('%.0f', math.ceil(tonumber(expires) / 60000) * 60000))
end
-- Leaves with finish()'s unread event, before it
QUEUED[#QUEUED + 1] = '{"kind":"notification","id":"' .. id .. '","v":' .. cjson.encode(value) .. '}'
queueDeliveries(id, value)
count('sent', 'type:' .. typ)
finish()
return {'ok', id}
end

return remember(run())
