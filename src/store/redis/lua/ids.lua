--[[
  Shared: ids from the sequence, fixed-width base36, so string order = creation order
  (mirrors encodeSeq and nextSeq in src/store/ids.ts).
]]
local ALPHABET = '0123456789abcdefghijklmnopqrstuvwxyz'
local function encodeId(n)
  local s = ''
  repeat
    local d = n % 36
    s = string.sub(ALPHABET, d + 1, d + 1) .. s
    n = (n - d) / 36
  until n == 0
  return string.rep('0', 11 - #s) .. s
end

-- Redis' clock in microseconds: the floor of every sequence number issued now.
local function clockSeq()
  local t = redis.call('TIME')
  return tonumber(t[1]) * 1000000 + tonumber(t[2])
end

-- The marker of this data set (P{g}:epoch): every id it issued is above it. A Redis that lost
-- it (restarted empty, wiped) gets a new one above every id issued before, so resumes from
-- before it can't pass for complete. Returns it as a string.
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

-- The next sequence number: one more than the last, never below the clock floor, so a Redis
-- that lost the key (restarted empty, or without its last writes) never issues an id again.
-- A data set without an epoch gets one first, below its first id.
-- Numbers stay below 2^53 (exact in Lua and JS) until the year 2255.
local function nextSeq(kSeq, kEpoch)
  if redis.call('EXISTS', kEpoch) == 0 then ensureEpoch(kSeq, kEpoch) end
  local seq = redis.call('INCR', kSeq)
  local floor = clockSeq()
  if seq < floor then
    redis.call('SET', kSeq, floor)
    seq = floor
  end
  return seq
end
