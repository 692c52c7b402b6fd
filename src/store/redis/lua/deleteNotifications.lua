--[[
  deleteNotifications: remove items from the caller's inbox (a broadcast only from this view).
  KEYS, ARGV 1-4: see user-common.lua
  ARGV 5.. ids
  Publishes (finish()) the new count with "removed": the ids removed.
  Returns how many were removed.
]]
settle()
local found, seen = {}, {}
for _, id in ipairs({unpack(ARGV, 5)}) do
  -- an id given twice is removed (and counted) once
  if not seen[id] and redis.call('ZSCORE', K_INBOX, id) then found[#found + 1] = id end
  seen[id] = true
end
removeItems(found)
finish()
return #found
