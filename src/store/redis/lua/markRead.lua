--[[
  markRead: mark the given ids read (unread ones get readAt = now; read ones keep theirs).
  KEYS, ARGV 1-4: see user-common.lua
  ARGV 5 '1' read | '0' unread   6.. ids
  Publishes (finish()) the new count with the ids that changed: "read" or "unread".
  Returns {id, value, readAt, ...} for the ids found, after the change.
]]
settle()
local read = ARGV[5] == '1'
local ids = {unpack(ARGV, 6)}
for _, id in ipairs(ids) do
  local seq = redis.call('ZSCORE', K_INBOX, id)
  if seq then
    if read then
      if redis.call('ZREM', K_UNREAD, id) == 1 then
        redis.call('HSET', K_ITEMS, readAtField(id), NOW)
        CHANGED_READ[#CHANGED_READ + 1] = id
      end
    else
      if redis.call('ZADD', K_UNREAD, seq, id) == 1 then CHANGED_UNREAD[#CHANGED_UNREAD + 1] = id end
      redis.call('HDEL', K_ITEMS, readAtField(id))
    end
  end
end
finish()
return replyItems(ids)
