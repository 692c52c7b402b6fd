--[[
  markAllRead: every unread item of the caller becomes read now.
  KEYS, ARGV 1-4: see user-common.lua
  Publishes (finish()) the new count with "read": the ids that changed.
  Returns how many changed.
]]
settle()
local ids = redis.call('ZRANGE', K_UNREAD, 0, -1)
for _, id in ipairs(ids) do
  redis.call('HSET', K_ITEMS, readAtField(id), NOW)
  CHANGED_READ[#CHANGED_READ + 1] = id
end
redis.call('DEL', K_UNREAD)
finish()
return #ids
