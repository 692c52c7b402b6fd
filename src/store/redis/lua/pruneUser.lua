--[[
  pruneUser: settle and drop what expired for a user who may never come back.
  KEYS, ARGV 1-4: see user-common.lua
  Publishes (finish()) the new count with "removed": what expired; the expiry sweeper
  (Store.sweepExpired) calls it for users whose next expiry has passed.
  Returns the number of items left.
]]
settle()
finish()
return redis.call('ZCARD', K_INBOX)
