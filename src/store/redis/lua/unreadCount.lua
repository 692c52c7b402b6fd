--[[
  unreadCount: the exact number of unread, unexpired items (after settling).
  KEYS, ARGV 1-3: see user-common.lua
  Returns the count.
]]
settle()
updateDue()
return redis.call('ZCARD', K_UNREAD)
