--[[
  getNotifications: the caller's notifications by id (others' ids simply aren't in this inbox).
  KEYS, ARGV 1-4: see user-common.lua
  ARGV 5.. ids
  Returns {id, value, readAt, ...} for the ids found.
]]
settle()
finish()
return replyItems({unpack(ARGV, 5)})
