--[[
  claimDue: lease the users whose next expiry has passed to one sweeping instance
  (Store.sweepExpired), so instances sweeping at the same time settle each user once.
  KEYS 1 due
  ARGV 1 now  2 limit  3 lease end (ms)
  Each claimed user's score moves to the lease end; settling it (pruneUser.lua's finish())
  then sets its real next expiry, or removes it. A sweeper that dies gives it back at the lease end.
  Returns the user ids, earliest due first.
]]
local users = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', ARGV[1], 'LIMIT', 0, tonumber(ARGV[2]))
for _, id in ipairs(users) do redis.call('ZADD', KEYS[1], ARGV[3], id) end
return users
