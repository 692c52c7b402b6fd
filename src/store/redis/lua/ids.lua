--[[
  Shared: ids from the sequence, fixed-width base36, so string order = creation order
  (mirrors encodeSeq in src/notifications/ids.ts).
]]
local ALPHABET = '0123456789abcdefghijklmnopqrstuvwxyz'
local function encodeId(n)
  local s = ''
  repeat
    local d = n % 36
    s = string.sub(ALPHABET, d + 1, d + 1) .. s
    n = math.floor(n / 36)
  until n == 0
  return string.rep('0', 11 - #s) .. s
end
