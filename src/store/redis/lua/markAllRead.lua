--[[
  markAllRead: every unread item of the caller becomes read now.
  KEYS, ARGV 1-4: see user-common.lua
  Returns how many changed.
]]
settle()
local ids = redis.call('ZRANGE', K_UNREAD, 0, -1)
for _, id in ipairs(ids) do redis.call('HSET', K_READAT, id, NOW) end
redis.call('DEL', K_UNREAD)
finish()
return #ids
