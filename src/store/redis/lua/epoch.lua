--[[
  epoch: reads the marker of one partition's data set, making it when missing (ensureEpoch in
  ids.lua). The server runs it at start and every second; a value that changes means Redis
  lost its data (restarted empty, wiped) while the server ran.
  KEYS 1 seq  2 epoch (the partition's)
  Returns the epoch, a sequence number as a decimal string.
]]
return ensureEpoch(KEYS[1], KEYS[2])
