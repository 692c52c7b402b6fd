--[[
  updatePreferences: settle under the old preferences, then replace them.
  KEYS, ARGV 1-4: see user-common.lua
  ARGV 5 muted types as a JSON array ('' keep)   6 channels JSON ('' keep)
  Publishes {"kind":"user","active","muted"}.
  Returns HGETALL of the user hash.
]]
if not ensureUser() then settle() end
if ARGV[5] ~= '' then
  if isActive() then
    local old = mutedSet()
    local new = {}
    for _, t in ipairs(cjson.decode(ARGV[5])) do new[t] = true end
    for t in pairs(old) do if not new[t] then bumpMuteCount(t, -1) end end
    for t in pairs(new) do if not old[t] then bumpMuteCount(t, 1) end end
  end
  redis.call('HSET', K_USER, 'muted', ARGV[5])
end
if ARGV[6] ~= '' then redis.call('HSET', K_USER, 'channels', ARGV[6]) end
publishUserState()
finish()
return redis.call('HGETALL', K_USER)
