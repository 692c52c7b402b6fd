--[[
  getNotifications: the caller's notifications by id (others' ids simply aren't in this inbox).
  KEYS, ARGV 1-3: see user-common.lua
  ARGV 4.. ids
  Returns {id, value, readAt, ...} for the ids found.
]]
settle()
updateDue()
return replyItems({unpack(ARGV, 4)})
