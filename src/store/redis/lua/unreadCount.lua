--[[
  unreadCount: the exact number of unread, unexpired items (after settling).
  KEYS, ARGV 1-4: see user-common.lua
  Returns the count.
]]
settle()
finish()
return redis.call('ZCARD', K_UNREAD)
