--[[
  listSince: everything the inbox holds newer than a cursor, oldest first (subscription replay).
  KEYS, ARGV 1-4: see user-common.lua
  ARGV 5 after seq
  Returns {id, value, readAt, ...}
]]
settle()
finish()
return replyItems(redis.call('ZRANGEBYSCORE', K_INBOX, '(' .. ARGV[5], '+inf'))
