--[[
  deleteNotifications: remove items from the caller's inbox (a broadcast only from this view).
  KEYS, ARGV 1-3: see user-common.lua
  ARGV 4.. ids
  Returns how many were removed.
]]
settle()
local found, seen = {}, {}
for _, id in ipairs({unpack(ARGV, 4)}) do
  -- an id given twice is removed (and counted) once
  if not seen[id] and redis.call('ZSCORE', K_INBOX, id) then found[#found + 1] = id end
  seen[id] = true
end
removeItems(found)
updateDue()
return #found
