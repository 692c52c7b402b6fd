--[[
  inboxSnapshot: where an inbox stream starts (Store.inboxSnapshot). Settles, then reads the
  unread count, the highest id this inbox ever lost (`rmid`: cap, expiry, deletion), the highest
  id its partition issued, and with a cursor what the inbox holds newer than it; and publishes a sync event
  carrying the stream's token in the same atomic step. The stream, subscribed before this ran,
  drops the events published before its sync event (this snapshot reflects them) and delivers
  the ones after it: no gap, no duplicate, counts never going back.
  KEYS 1-13, ARGV 1-4: see user-common.lua;  KEYS 14 the partition's epoch (P{p:N}:epoch, made when missing)
  ARGV 5 after seq ('' = no replay)  6 the stream's token ([0-9a-z])
  Publishes {"kind":"sync","token":T} (after finish()'s unread event, if settling changed anything).
  Returns {unreadCount, rmid ('' = nothing ever removed), last issued seq, epoch, id, value, readAt, ...}
]]
settle()
finish()
redis.call('SPUBLISH', CHANNEL, '{"kind":"sync","token":"' .. ARGV[6] .. '"}')
local out = {redis.call('ZCARD', K_UNREAD), redis.call('HGET', K_USER, 'rmid') or '', redis.call('GET', K_SEQ) or '0', ensureEpoch(K_SEQ, KEYS[14])}
if ARGV[5] ~= '' then
  for _, v in ipairs(replyItems(redis.call('ZRANGEBYSCORE', K_INBOX, '(' .. ARGV[5], '+inf'))) do out[#out + 1] = v end
end
return out
