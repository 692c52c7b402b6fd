--[[
  Shared: ids. A sequence number s = max(last + 1, Redis TIME in ms * 1024), kept in the given
  key, so ids never go backwards, not even after Redis was wiped or restored from an old backup
  (docs/redis-layout.md, Ids). s < 2^53 until 2248: exact as a Lua number. Ids are s in
  fixed-width base36, so string order = creation order (mirrors encodeSeq in
  src/notifications/ids.ts). Sequence values travel as decimal strings ('%.0f').
]]
local ALPHABET = '0123456789abcdefghijklmnopqrstuvwxyz'
local function encodeId(n)
  n = tonumber(n)
  local s = ''
  repeat
    local d = n % 36
    s = string.sub(ALPHABET, d + 1, d + 1) .. s
    n = math.floor(n / 36)
  until n == 0
  return string.rep('0', 11 - #s) .. s
end

--[[
  A sequence number is ms * 1024 + c (ms from Redis TIME). c = 1023 is the global sequence's
  ({g}:seq: broadcast and scheduled ids), so a broadcast id is above everything a partition
  issued in the same millisecond; partition N of P takes c = N, N + P, N + 2P, ... <= 1022, so
  no two sequences ever issue the same number (ids are unique across partitions). A sequence
  that needs more numbers in a millisecond than it has moves on into the next ones (it runs
  ahead of the clock until the clock catches up). The partition key's name carries N and P
  (keys.ts: "{p:N}:seq:P").
]]
local function nextSeq(key)
  local t = redis.call('TIME')
  local ms = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
  local last = tonumber(redis.call('GET', key) or '0')
  local n, p = string.match(key, '{p:(%d+)}:seq:(%d+)$')
  local s
  if n then
    n, p = tonumber(n), tonumber(p)
    s = math.max(last + 1, ms * 1024)
    local base, c = math.floor(s / 1024) * 1024, s % 1024
    c = c + (n - c % p) % p
    if c > 1022 then base, c = base + 1024, n end
    s = base + c
  else
    s = math.max(last + 1, ms * 1024 + 1023)
    if s % 1024 ~= 1023 then s = math.floor(s / 1024) * 1024 + 1023 end
  end
  local str = string.format('%.0f', s)
  redis.call('SET', key, str)
  return str
end
