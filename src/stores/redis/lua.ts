/**
 * The write script: one call applies a whole write batch on a standalone
 * Redis (one key per call on a Cluster, where keys of one call must share a
 * slot). Plain Lua 5.1 only (no `struct`, `bit` or `cjson`), for servers
 * that ship a bare interpreter.
 *
 * Arguments: `KEYS[i]` is the i-th op's key; `ARGV[1]` holds the ops in key
 * order, packed by packOps (script.ts), so the client encodes one argument
 * for the whole batch instead of two or three per write; `ARGV[2]` is the
 * largest record a patch may produce (bytes). An op is a byte, then for
 * all but `d` a byte L and the TTL in ms as L ASCII digits, then for `s`,
 * `p` and `f` a u32 big-endian length and that many bytes:
 *
 *   s  SET key bytes PX ttl                     (a whole record)
 *   e  PEXPIRE key ttl                          (touch)
 *   d  DEL key                                  (destroy)
 *   p  patch the live record with `bytes`, PX ttl
 *   f  swap a live record for the marker `bytes`, PX ttl (the grace)
 *
 * A patch is applied by the rules of src/codec/layout.ts, checked against
 * codec.apply by test/integration/redis-patch.test.mjs: the stored value is
 * scanned with every rule of scanRecord (a value breaking one is not a v2
 * RECORD), the patch too (the client only checked its header).
 *
 * Reply: the integer 0 when every op succeeded plainly (the common case:
 * nothing to parse); else one entry per key:
 *   0        done (a patch: applied)
 *   1        patch: no live record ('gone'); forward: nothing live to swap
 *   2        patch: the live value is not a v2 RECORD and the patch has no CLEAR ('stale')
 *   3        patch: the result would be larger than ARGV[2]; nothing written
 *   4        patch: not a well-formed PATCH; nothing written
 *   'M' id   patch: the key holds a FORWARD marker to `id`; nothing written
 *   'R' rec  forward: swapped; `rec` is the value the key held
 *   'E' msg  Redis refused the op's command (OOM, WRONGTYPE...): `msg`
 *
 * Every command runs under `redis.pcall`, so one refused write fails only
 * its own op. Writes that may grow memory (SET, patch, forward) run before
 * PEXPIRE/DEL: while Redis is out of memory (maxmemory, noeviction) it
 * refuses a script's memory-growing writes only until the script's first
 * successful write, so this order refuses the same writes single commands
 * would. Keys of one batch are distinct (the batcher sends one op per id
 * at a time), so the order does not matter otherwise.
 *
 * Cost on Redis (7.0, `INFO cpu` over 64-op calls): a patch is a GET, a
 * walk over the stored record (two `string.byte` calls and one `string.sub`
 * per entry, about 0.3-0.5 µs), the new record built from runs of untouched
 * entries copied as one substring each, and a SET: about 6 µs for a 7-key,
 * 320-byte record and 12 µs for a 13-key, 1.9 KB one, against about 2 and
 * 4 µs for a bare GET + SET from a script. Tables are reused across the ops
 * of one call (keys marked with a per-scan stamp instead of a fresh table
 * per scan), and a key checked once (UTF-8, forbidden names) is not checked
 * again in the same call: sessions of one app share their key names.
 */
export const WRITE_SCRIPT = `local b, MAX = ARGV[1], tonumber(ARGV[2])
local byte, sub, find, char, concat, floor = string.byte, string.sub, string.find, string.char, table.concat, math.floor
local pos, out, bad = 1, {}, 0
local later, ttls = {}, {}
local FORB = { __proto__ = true, constructor = true, prototype = true }
local known, seen, named, stamp = {}, {}, {}, 0
local ps, pdel = {}, {}

local function utf8ok(s)
  local i, n = 1, #s
  while i <= n do
    local c = byte(s, i)
    if c < 128 then
      i = i + 1
    else
      local k, min, cp
      if c >= 194 and c <= 223 then k, min, cp = 1, 128, c - 192
      elseif c >= 224 and c <= 239 then k, min, cp = 2, 2048, c - 224
      elseif c >= 240 and c <= 244 then k, min, cp = 3, 65536, c - 240
      else return false end
      if i + k > n then return false end
      for j = 1, k do
        local d = byte(s, i + j)
        if d < 128 or d > 191 then return false end
        cp = cp * 64 + d - 128
      end
      if cp < min or cp > 1114111 or (cp >= 55296 and cp <= 57343) then return false end
      i = i + k + 1
    end
  end
  return true
end

local function goodKey(key)
  if known[key] then return true end
  if FORB[key] or (find(key, '[\\128-\\255]') and not utf8ok(key)) then return false end
  known[key] = true
  return true
end

local function head(s, len)
  if len < 28 then return nil end
  local m, v, kind, flags, e1, e2 = byte(s, 1, 6)
  if m ~= 104 or v ~= 2 then return nil end
  if kind == 2 then
    if flags > 1 then return nil end
  elseif kind > 2 or flags ~= 0 then
    return nil
  end
  local c1, c2 = byte(s, 13, 14)
  if e1 ~= 0 or e2 > 31 or c1 ~= 0 or c2 > 31 then return nil end
  local n1, n2, n3, n4 = byte(s, 25, 28)
  local count = ((n1 * 256 + n2) * 256 + n3) * 256 + n4
  if kind == 1 then
    if count ~= 0 or len == 28 or len > 283 or find(s, '[^!-~]', 29) then return nil end
  elseif count > (len - 28) / 6 then
    return nil
  end
  return kind, flags, count
end

local function apply(cur, p)
  local plen = #p
  local pk, pf, pn = head(p, plen)
  if pk ~= 2 then return 4 end
  stamp = stamp + 1
  local pst = stamp
  local q = 29
  for j = 1, pn do
    if q + 1 > plen then return 4 end
    local k1, k2 = byte(p, q, q + 1)
    local kend = q + 2 + k1 * 256 + k2
    if kend + 3 > plen then return 4 end
    local key = sub(p, q + 2, kend - 1)
    if named[key] == pst or (not known[key] and not goodKey(key)) then return 4 end
    named[key] = pst
    local v1, v2, v3, v4 = byte(p, kend, kend + 3)
    ps[j] = q
    if v1 == 255 and v2 == 255 and v3 == 255 and v4 == 255 then
      pdel[j] = true
      q = kend + 4
    else
      pdel[j] = false
      q = kend + 4 + ((v1 * 256 + v2) * 256 + v3) * 256 + v4
      if q - 1 > plen then return 4 end
    end
  end
  if q ~= plen + 1 then return 4 end
  local len = #cur
  local rk, _, rn = head(cur, len)
  if rk == 1 then return 5, sub(cur, 29) end
  local parts, np, count, size, from = { char(104, 2, 0, 0), sub(p, 5, 24), false }, 3, 0, 28, nil
  if pf ~= 1 then
    if rk ~= 0 then return 2 end
    stamp = stamp + 1
    local rst = stamp
    local r = 29
    for i = 1, rn do
      if r + 1 > len then return 2 end
      local k1, k2 = byte(cur, r, r + 1)
      local kend = r + 2 + k1 * 256 + k2
      if kend + 3 > len then return 2 end
      local key = sub(cur, r + 2, kend - 1)
      if seen[key] == rst or (not known[key] and not goodKey(key)) then return 2 end
      seen[key] = rst
      local v1, v2, v3, v4 = byte(cur, kend, kend + 3)
      if v1 == 255 and v2 == 255 and v3 == 255 and v4 == 255 then return 2 end
      local nxt = kend + 4 + ((v1 * 256 + v2) * 256 + v3) * 256 + v4
      if nxt - 1 > len then return 2 end
      if named[key] == pst then
        if from then np = np + 1; parts[np] = sub(cur, from, r - 1); from = nil end
      else
        from = from or r
        count = count + 1
        size = size + nxt - r
      end
      r = nxt
    end
    if r ~= len + 1 then return 2 end
    if from then np = np + 1; parts[np] = sub(cur, from, len); from = nil end
  end
  for j = 1, pn do
    if pdel[j] then
      if from then np = np + 1; parts[np] = sub(p, from, ps[j] - 1); from = nil end
    else
      from = from or ps[j]
      count = count + 1
      size = size + (j < pn and ps[j + 1] or plen + 1) - ps[j]
    end
  end
  if from then np = np + 1; parts[np] = sub(p, from, plen) end
  if size > MAX then return 3 end
  parts[3] = char(floor(count / 16777216) % 256, floor(count / 65536) % 256, floor(count / 256) % 256, count % 256)
  return 0, concat(parts)
end

local function put(i, r)
  if type(r) == 'table' and r.err then
    out[i] = 'E' .. r.err
    bad = bad + 1
  else
    out[i] = 0
  end
end

local function fail(i, code)
  out[i] = code
  bad = bad + 1
end

for i = 1, #KEYS do
  local kind = byte(b, pos)
  if kind == 100 then
    later[#later + 1] = i
    ttls[#later] = false
    pos = pos + 1
  else
    local len = byte(b, pos + 1)
    local ttl = sub(b, pos + 2, pos + 1 + len)
    pos = pos + 2 + len
    if kind == 101 then
      later[#later + 1] = i
      ttls[#later] = ttl
    else
      local s1, s2, s3, s4 = byte(b, pos, pos + 3)
      local size = ((s1 * 256 + s2) * 256 + s3) * 256 + s4
      local v = sub(b, pos + 4, pos + 3 + size)
      pos = pos + 4 + size
      if kind == 115 then
        put(i, redis.pcall('SET', KEYS[i], v, 'PX', ttl))
      else
        local cur = redis.pcall('GET', KEYS[i])
        if type(cur) == 'table' then
          put(i, cur)
        elseif not cur then
          fail(i, 1)
        elseif kind == 112 then
          local code, r = apply(cur, v)
          if code == 0 then put(i, redis.pcall('SET', KEYS[i], r, 'PX', ttl))
          elseif code == 5 then fail(i, 'M' .. r)
          else fail(i, code) end
        elseif head(cur, #cur) == 1 then
          fail(i, 1)
        else
          local r = redis.pcall('SET', KEYS[i], v, 'PX', ttl)
          if type(r) == 'table' and r.err then fail(i, 'E' .. r.err) else fail(i, 'R' .. cur) end
        end
      end
    end
  end
end
for j = 1, #later do
  local i, ttl = later[j], ttls[j]
  if ttl then put(i, redis.pcall('PEXPIRE', KEYS[i], ttl)) else put(i, redis.pcall('DEL', KEYS[i])) end
end
if bad == 0 then return 0 end
return out
`;
