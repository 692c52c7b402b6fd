--[[
  listNotifications: one page of the inbox, newest first, with exact counts.
  KEYS, ARGV 1-4: see user-common.lua
  ARGV 5 first  6 after seq ('' = from the newest)  7 unreadOnly '1'|'0'
       8 types as a JSON array ('' = any)  9 min priority rank ('' = any)
  Returns {totalCount, unreadCount, hasNextPage 0|1, hasPreviousPage 0|1, id, value, readAt, ...}
]]
settle()
finish()
local first = tonumber(ARGV[5])
local after = ARGV[6] ~= '' and tonumber(ARGV[6]) or nil
local src = ARGV[7] == '1' and K_UNREAD or K_INBOX
local typeSet = nil
if ARGV[8] ~= '' then
  typeSet = {}
  for _, t in ipairs(cjson.decode(ARGV[8])) do typeSet[t] = true end
end
local minRank = ARGV[9] ~= '' and tonumber(ARGV[9]) or nil

local out = {0, 0, 0, 0}
if not typeSet and not minRank then
  -- No content filter: counts straight from the indexes, values only for the page.
  out[1] = redis.call('ZCARD', src)
  out[2] = redis.call('ZCARD', K_UNREAD)
  -- the argument as given: a Lua number would print as 1.79e+15 and lose digits
  local max = after and ('(' .. ARGV[6]) or '+inf'
  local ids = redis.call('ZREVRANGEBYSCORE', src, max, '-inf', 'LIMIT', 0, first + 1)
  if #ids > first then
    out[3] = 1
    ids[#ids] = nil
  end
  if after and #redis.call('ZRANGEBYSCORE', src, ARGV[6], '+inf', 'LIMIT', 0, 1) > 0 then out[4] = 1 end
  for _, v in ipairs(replyItems(ids)) do out[#out + 1] = v end
  return out
end

-- Content filters: the inbox is capped, so scanning it whole is bounded by the cap.
local all = redis.call('ZREVRANGE', src, 0, -1, 'WITHSCORES')
local inPage = 0
for i = 1, #all, 2 do
  local id, seq = all[i], tonumber(all[i + 1])
  local v = itemValue(id)
  if v then
    local typ, rank = string.match(v, '^([^\t]*)\t(%d+)\t')
    if (not typeSet or typeSet[typ]) and (not minRank or tonumber(rank) >= minRank) then
      out[1] = out[1] + 1
      local readAt = redis.call('HGET', K_ITEMS, readAtField(id))
      if not readAt then out[2] = out[2] + 1 end
      if after and seq >= after then
        out[4] = 1
      elseif inPage < first then
        inPage = inPage + 1
        out[#out + 1] = id
        out[#out + 1] = v
        out[#out + 1] = readAt or ''
      else
        out[3] = 1
      end
    end
  end
end
return out
