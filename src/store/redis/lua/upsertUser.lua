--[[
  upsertUser: create or update a user; activation changes keep the active set and mute counts exact.
  KEYS, ARGV 1-4: see user-common.lua
  ARGV 5 name mode: '' keep, 'set', 'clear'   6 name   7 active: '' keep, '1', '0'
  Publishes {"kind":"user","active","muted"}.
  Returns HGETALL of the user hash.
]]
if not ensureUser() then settle() end
if ARGV[5] == 'set' then redis.call('HSET', K_USER, 'name', ARGV[6])
elseif ARGV[5] == 'clear' then redis.call('HDEL', K_USER, 'name') end
if ARGV[7] ~= '' then
  local want = ARGV[7] == '1'
  if want ~= isActive() then setActive(want) end
end
publishUserState()
finish()
return redis.call('HGETALL', K_USER)
