--[[
  markRead: mark the given ids read (unread ones get readAt = now; read ones keep theirs).
  KEYS, ARGV 1-3: see user-common.lua
  ARGV 4 '1' read | '0' unread   5.. ids
  Returns {id, value, readAt, ...} for the ids found, after the change.
]]
settle()
updateDue()
local read = ARGV[4] == '1'
local ids = {unpack(ARGV, 5)}
for _, id in ipairs(ids) do
  local seq = redis.call('ZSCORE', K_INBOX, id)
  if seq then
    if read then
      if redis.call('ZREM', K_UNREAD, id) == 1 then redis.call('HSET', K_READAT, id, NOW) end
    else
      redis.call('ZADD', K_UNREAD, seq, id)
      redis.call('HDEL', K_READAT, id)
    end
  end
end
return replyItems(ids)
