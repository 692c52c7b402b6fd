--[[
  ensureUser: create the user (active) on first contact; existing users are left alone.
  KEYS, ARGV 1-4: see user-common.lua
  Returns 1 when created, 0 when it existed.
]]
if ensureUser() then return 1 end
return 0
