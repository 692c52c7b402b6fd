--[[
  upsertUser: create or update a user; activation changes keep the active set and mute counts exact.
  KEYS, ARGV 1-3: see user-common.lua
  ARGV 4 name mode: '' keep, 'set', 'clear'   5 name   6 active: '' keep, '1', '0'
  Returns HGETALL of the user hash.
]]
if not ensureUser() then settle() end
if ARGV[4] == 'set' then redis.call('HSET', K_USER, 'name', ARGV[5])
elseif ARGV[4] == 'clear' then redis.call('HDEL', K_USER, 'name') end
if ARGV[6] ~= '' then
  local want = ARGV[6] == '1'
  if want ~= isActive() then setActive(want) end
end
updateDue()
return redis.call('HGETALL', K_USER)
