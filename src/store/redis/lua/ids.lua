--[[
  Shared: ids (docs/redis-layout.md, "Ids"). A sequence number is ms * 1024 + c, ms from Redis
  TIME, so ids never go backwards, not even after Redis was wiped or restored from an old
  backup. Ids are the number in fixed-width base36, so string order = creation order (mirrors
  encodeSeq in src/store/ids.ts). Below 2^53, exact as a Lua number, until the year 2248.

  c splits each millisecond between the sequences, so no two issue the same number: partition
  N of P ("{p:N}:seq:P", keys.ts) takes c = N, N + P, N + 2P, ... <= 1022; the global sequence
  ({g}:seq: broadcast and scheduled ids) takes c = 1023, the top of its millisecond. A sequence
  that needs more numbers in a millisecond than it has runs ahead of the clock until the clock
  catches up. So c mod P of a partition id is its partition (partitionOfId in ids.ts).
]]
local ALPHABET = '0123456789abcdefghijklmnopqrstuvwxyz'
local function encodeId(n)
  n = tonumber(n)
  local s = ''
  repeat
    local d = n % 36
    s = string.sub(ALPHABET, d + 1, d + 1) .. s
    n = (n - d) / 36
  until n == 0
  return string.rep('0', 11 - #s) .. s
end

-- The lowest sequence number of the current millisecond: the floor of every number issued now.
local function clockSeq()
  local t = redis.call('TIME')
  return (tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)) * 1024
end

-- The marker of a partition's data set ({p:N}:epoch): every id it issued is above it. A Redis
-- that lost it (restarted empty, wiped) gets a new one above every id issued before, so resumes
-- from before it can't pass for complete. Returns it as a decimal string.
local function ensureEpoch(kSeq, kEpoch)
  local e = redis.call('GET', kEpoch)
  if e then return e end
  local floor = clockSeq()
  local seq = tonumber(redis.call('GET', kSeq) or '0')
  if seq > floor then floor = seq end
  e = string.format('%.0f', floor)
  redis.call('SET', kEpoch, e)
  return e
end

-- The next sequence number of kSeq: above its last one, never below the clock, in its own
-- sub-millisecond slots. A partition without an epoch (kEpoch) gets one first, below this id.
-- Returns it as a number and as its decimal text (what redis.call should be given).
local function nextSeq(kSeq, kEpoch)
  local last
  if kEpoch then
    -- one call for both: the same slot, and each call costs more than its reads
    local got = redis.call('MGET', kSeq, kEpoch)
    if not got[2] then ensureEpoch(kSeq, kEpoch) end
    last = got[1]
  else
    last = redis.call('GET', kSeq)
  end
  local s = tonumber(last or '0') + 1
  local floor = clockSeq()
  if s < floor then s = floor end
  local base, c = s - s % 1024, s % 1024
  local n, p = string.match(kSeq, '{p:(%d+)}:seq:(%d+)$')
  if n then
    n, p = tonumber(n), tonumber(p)
    c = c + (n - c % p) % p
    if c > 1022 then base, c = base + 1024, n end
  else
    c = 1023
  end
  s = base + c
  local text = string.format('%.0f', s)
  redis.call('SET', kSeq, text)
  return s, text
end
