--[[
  pruneUser: settle and drop what expired for a user who may never come back.
  KEYS, ARGV 1-4: see user-common.lua
  Returns the number of items left.
]]
settle()
finish()
return redis.call('ZCARD', K_INBOX)
