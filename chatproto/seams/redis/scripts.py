"""What lives in Redis (its keys) and the Lua scripts that change it atomically.

Every key shares the hash tag C{{chatproto}}, so a Redis Cluster would keep
the room on one shard (docs/scaling.md lists each key and its lifetime):

- C{last_id}: the newest chat message id (a counter);
- C{history}: the chat messages, stream entry C{0-<id>}, field C{r} the record,
  trimmed to --history-retain;
- C{feed}: everything every node delivers, in one order: chat (C{r} record,
  C{i} id), notices (C{r}, C{k} the key that skips it), private messages to
  another node's member (C{r}, C{t} the recipient's key) and presence changes
  (C{j} key claimed with C{n} nickname and C{o} join order; C{l} key freed,
  C{o} order of the claim freed; C{m} key taken over with a resume token from
  node C{f}; C{a} key whose holder logged in to the account C{v}, '' for none);
  trimmed to about L{FEED_LENGTH} entries;
- C{holders} / C{names}: nickname key to node id / to nickname (a JSON string);
- C{tokens}: nickname key to the SHA-256 (hex) of its holder's resume token, so
  that any node can check a token it is offered, and none learns one;
- C{logins}: nickname key to the account its holder is logged in to (section 13), so
  that a place taken over with a token keeps its account, and a login to that account
  on any node may take the place over;
- C{order}: nickname keys by join order, from the counter C{joins};
- C{nodes}: node ids by their last heartbeat (milliseconds, Redis's clock);
- C{outside}: the nickname keys whose holders parted the default room (C{x} entries
  on the feed: C{x} key, C{v} 1 parted or 0 back);
- C{rooms} / C{topics}: room key to display name (every room beside the default one
  that exists) / to topic (the default room's included);
- C{in:<nickname key>}: the keys of the rooms beside the default one its holder is in;
- C{room:<room key>:last_id}, C{:history}, C{:feed}, C{:members}: a room's own id
  counter, history and feed (as the default room's, plus C{T} topic entries) and its
  members (nickname keys by join order); a node reads the feed of a room only while
  one of its members is in it.
"""

from __future__ import annotations

from typing import Final

from chatproto.seams.redis.client import Script

PREFIX: Final = "{chatproto}:"
#: Feed entries kept for nodes that read late (a reconnecting node resumes within them).
FEED_LENGTH: Final = 10000


class Keys:
    """The key names, in the order every script declares them."""

    last_id = PREFIX + "last_id"
    history = PREFIX + "history"
    feed = PREFIX + "feed"
    holders = PREFIX + "holders"
    names = PREFIX + "names"
    order = PREFIX + "order"
    joins = PREFIX + "joins"
    nodes = PREFIX + "nodes"
    tokens = PREFIX + "tokens"

    all = (last_id, history, feed, holders, names, order, joins, nodes, tokens)


# Shared by every script: the keys by name, and the helpers below.
_PRELUDE = """
local last_id, history, feed, holders, names, order, joins, nodes, tokens = unpack(KEYS)
local feed_length = FEED_LENGTH
local rooms, topics = 'PREFIX' .. 'rooms', 'PREFIX' .. 'topics'
local outside = 'PREFIX' .. 'outside'
local logins = 'PREFIX' .. 'logins'

-- The keys of one room beside the default one: counter, history, feed, members.
local function room_keys(room)
  local base = 'PREFIX' .. 'room:' .. room .. ':'
  return base .. 'last_id', base .. 'history', base .. 'feed', base .. 'members'
end

-- The set of the rooms a nickname key's holder is in (the default room aside).
local function rooms_of(key)
  return 'PREFIX' .. 'in:' .. key
end

-- The newest id given in a room: its counter, else what its history still holds.
local function newest_in(counter, stream)
  local stored = redis.call('GET', counter)
  if stored then return tonumber(stored) end
  local tail = redis.call('XREVRANGE', stream, '+', '-', 'COUNT', 1)[1]
  if tail then return tonumber(string.match(tail[1], '%-(%d+)$')) end
  return 0
end

-- A room with no member, no message and no topic ceases to exist.
local function forget_if_unused(room)
  local counter, _, room_feed, members = room_keys(room)
  if redis.call('EXISTS', members) == 0 and redis.call('EXISTS', counter) == 0
      and redis.call('HEXISTS', topics, room) == 0 then
    redis.call('HDEL', rooms, room)
    redis.call('DEL', room_feed)
  end
end

-- Take `key` out of `room` (an `l` entry on the room's feed); false if not in it.
local function leave_room(room, key)
  local _, _, room_feed, members = room_keys(room)
  local rank = redis.call('ZSCORE', members, key)
  redis.call('SREM', rooms_of(key), room)
  if not rank then return false end
  redis.call('ZREM', members, key)
  redis.call('XADD', room_feed, 'MAXLEN', '~', feed_length, '*', 'l', key, 'o', rank)
  forget_if_unused(room)
  return true
end

-- Take `key` out of every room beside the default one: {room key, display name, ...}.
local function leave_rooms(key)
  local left = {}
  for _, room in ipairs(redis.call('SMEMBERS', rooms_of(key))) do
    local name = redis.call('HGET', rooms, room) or room
    if leave_room(room, key) then
      left[#left + 1] = room
      left[#left + 1] = name
    end
  end
  redis.call('DEL', rooms_of(key))
  return left
end

-- The newest id ever given: the counter, or what history still holds if the counter
-- was lost (a Redis restored without it), so that an id is never given twice.
local function newest_id()
  local stored = redis.call('GET', last_id)
  if stored then return tonumber(stored) end
  local tail = redis.call('XREVRANGE', history, '+', '-', 'COUNT', 1)[1]
  if tail then return tonumber(string.match(tail[1], '%-(%d+)$')) end
  return 0
end

-- Free every nickname held by `node`: a leave entry each on the feed and on the feed of
-- each of its rooms; returns {nickname (a JSON string), room key, room name, ...} per
-- freed nickname, in join order.
local function free_node(node)
  local held = redis.call('HGETALL', holders)
  local freed = {}
  for i = 1, #held, 2 do
    if held[i + 1] == node then
      local key = held[i]
      local rank = redis.call('ZSCORE', order, key) or '0'
      local entry = {redis.call('HGET', names, key) or '""'}
      for _, value in ipairs(leave_rooms(key)) do entry[#entry + 1] = value end
      freed[#freed + 1] = {tonumber(rank), entry}
      redis.call('HDEL', holders, key)
      redis.call('HDEL', names, key)
      redis.call('HDEL', tokens, key)
      redis.call('HDEL', logins, key)
      redis.call('ZREM', order, key)
      redis.call('SREM', outside, key)
      redis.call('XADD', feed, 'MAXLEN', '~', feed_length, '*', 'l', key, 'o', rank)
    end
  end
  table.sort(freed, function(a, b) return a[1] < b[1] end)
  local nicknames = {}
  for i, entry in ipairs(freed) do nicknames[i] = entry[2] end
  return nicknames
end
""".replace("FEED_LENGTH", str(FEED_LENGTH)).replace("PREFIX", PREFIX)

#: One reactor turn's writes of one node, in order. ARGV: node id, --history-retain,
#: the newest id the node knows, then quadruples (kind, a, b, c): C{c} chat (fields),
#: C{n} notice (record, skip key or ''), C{p} private message (record, the
#: recipient's key), C{j} claim (key, nickname, token hash), C{r} take over a key
#: held on another node (key, offered token's hash, new token hash), C{A} take over a
#: key held on another node by a member logged in to an account (key, the account,
#: new token hash), C{k} a new token for a key this node holds (key, -, token hash),
#: C{a} the account this node's holder of a key is logged in to (key, account or ''
#: for none), C{l} release (key, the
#: `leave` notice to put on the feed if this node still held it, or ''; the key leaves
#: its rooms too). Rooms beside the default one, each named by its key C{room}:
#: C{C} chat (room, fields), C{N} notice (room, record, skip key or ''), C{O} open
#: (room, display name: kept if it is new), C{J} join (room, key, nickname), C{L}
#: part (room, key), C{T} topic (room or '' for the default room, topic, '' clears),
#: C{F} forget (room: if nobody is in it and it stores nothing); C{x} (key, 1 parted
#: the default room, 0 joined it again). Join, part and C{x} act only for a key this
#: node holds. Unused places are ''. Returns one result per
#: quadruple: the chat id, 0 for a notice or private message, the join order of a
#: claim or room join (0: held, or not this node's), the nickname (a JSON string) of
#: a key taken over with the account its holder is logged in to ('' for none) (0: not
#: taken), 1 if a release or part freed the key.
#: Token hashes are compared with ==: what its timing could tell is about the
#: hash, which gives nothing towards a 128-bit random token.
WRITE = Script(
    _PRELUDE
    + """
local node, retain = ARGV[1], tonumber(ARGV[2])
local given = newest_id()
local id = math.max(given, tonumber(ARGV[3]))
local results = {}
for i = 4, #ARGV, 4 do
  local kind, a, b, c = ARGV[i], ARGV[i + 1], ARGV[i + 2], ARGV[i + 3]
  local result = 0
  if kind == 'c' then
    id = id + 1
    local record = '{"id":' .. id .. ',' .. a
    if retain > 0 then
      redis.call('XADD', history, 'MAXLEN', retain, '0-' .. id, 'r', record)
    end
    redis.call('XADD', feed, 'MAXLEN', '~', feed_length, '*', 'r', record, 'i', id)
    result = id
  elseif kind == 'n' then
    if b == '' then
      redis.call('XADD', feed, 'MAXLEN', '~', feed_length, '*', 'r', a)
    else
      redis.call('XADD', feed, 'MAXLEN', '~', feed_length, '*', 'r', a, 'k', b)
    end
  elseif kind == 'p' then
    redis.call('XADD', feed, 'MAXLEN', '~', feed_length, '*', 'r', a, 't', b)
  elseif kind == 'j' then
    if redis.call('HSETNX', holders, a, node) == 1 then
      result = redis.call('INCR', joins)
      redis.call('HSET', names, a, b)
      redis.call('ZADD', order, result, a)
      redis.call('HSET', tokens, a, c)
      redis.call('XADD', feed, 'MAXLEN', '~', feed_length, '*', 'j', a, 'n', b, 'o', result)
    end
  elseif kind == 'r' or kind == 'A' then
    local holder = redis.call('HGET', holders, a)
    local proof = kind == 'r' and tokens or logins
    if holder and holder ~= node and redis.call('HGET', proof, a) == b then
      redis.call('HSET', holders, a, node)
      redis.call('HSET', tokens, a, c)
      redis.call('XADD', feed, 'MAXLEN', '~', feed_length, '*', 'm', a, 'f', holder)
      result = {redis.call('HGET', names, a), redis.call('HGET', logins, a) or ''}
    end
  elseif kind == 'a' then
    if redis.call('HGET', holders, a) == node then
      if b == '' then redis.call('HDEL', logins, a) else redis.call('HSET', logins, a, b) end
      redis.call('XADD', feed, 'MAXLEN', '~', feed_length, '*', 'a', a, 'v', b)
    end
  elseif kind == 'k' then
    if redis.call('HGET', holders, a) == node then redis.call('HSET', tokens, a, c) end
  elseif kind == 'l' then
    if redis.call('HGET', holders, a) == node then
      local rank = redis.call('ZSCORE', order, a) or '0'
      redis.call('HDEL', holders, a)
      redis.call('HDEL', names, a)
      redis.call('HDEL', tokens, a)
      redis.call('HDEL', logins, a)
      redis.call('ZREM', order, a)
      redis.call('SREM', outside, a)
      redis.call('XADD', feed, 'MAXLEN', '~', feed_length, '*', 'l', a, 'o', rank)
      if b ~= '' then redis.call('XADD', feed, 'MAXLEN', '~', feed_length, '*', 'r', b) end
      local left = leave_rooms(a)
      if b ~= '' then -- the same `leave` in each of its rooms, with the room's name
        for j = 1, #left, 2 do
          local room_record = string.sub(b, 1, -2) .. ',"room":' .. cjson.encode(left[j + 1]) .. '}'
          redis.call('XADD', select(3, room_keys(left[j])), 'MAXLEN', '~', feed_length, '*',
            'r', room_record)
        end
      end
      result = 1
    end
  elseif kind == 'C' then
    local counter, room_history, room_feed = room_keys(a)
    local room_id = newest_in(counter, room_history) + 1
    local record = '{"id":' .. room_id .. ',' .. b
    if retain > 0 then
      redis.call('XADD', room_history, 'MAXLEN', retain, '0-' .. room_id, 'r', record)
    end
    redis.call('SET', counter, room_id)
    redis.call('XADD', room_feed, 'MAXLEN', '~', feed_length, '*', 'r', record, 'i', room_id)
    result = room_id
  elseif kind == 'N' then
    local _, _, room_feed = room_keys(a)
    if c == '' then
      redis.call('XADD', room_feed, 'MAXLEN', '~', feed_length, '*', 'r', b)
    else
      redis.call('XADD', room_feed, 'MAXLEN', '~', feed_length, '*', 'r', b, 'k', c)
    end
  elseif kind == 'O' then
    redis.call('HSETNX', rooms, a, b)
  elseif kind == 'J' then
    local _, _, room_feed, members = room_keys(a)
    if redis.call('HGET', holders, b) == node and not redis.call('ZSCORE', members, b) then
      result = redis.call('INCR', joins)
      redis.call('ZADD', members, result, b)
      redis.call('SADD', rooms_of(b), a)
      redis.call('XADD', room_feed, 'MAXLEN', '~', feed_length, '*', 'j', b, 'n', c, 'o', result)
    end
  elseif kind == 'L' then
    if redis.call('HGET', holders, b) == node and leave_room(a, b) then result = 1 end
  elseif kind == 'T' then
    local target = feed
    if a ~= '' then target = select(3, room_keys(a)) end
    if b == '' then redis.call('HDEL', topics, a) else redis.call('HSET', topics, a, b) end
    redis.call('XADD', target, 'MAXLEN', '~', feed_length, '*', 'T', b)
  elseif kind == 'F' then
    forget_if_unused(a)
  elseif kind == 'x' then
    if redis.call('HGET', holders, a) == node then
      if b == '1' then redis.call('SADD', outside, a) else redis.call('SREM', outside, a) end
      redis.call('XADD', feed, 'MAXLEN', '~', feed_length, '*', 'x', a, 'v', b)
    end
  end
  results[#results + 1] = result
end
if id ~= given then redis.call('SET', last_id, id) end
return results
"""
)

#: Where a starting node begins: {newest id, newest feed entry id, the default room's
#: topic, then key, join order, nickname, 1 if outside the default room (else 0), the
#: account it is logged in to ('' for none) for every holder in join order}.
START = Script(
    _PRELUDE
    + """
local tail = redis.call('XREVRANGE', feed, '+', '-', 'COUNT', 1)[1]
local result = {newest_id(), tail and tail[1] or '0-0', redis.call('HGET', topics, '') or ''}
local ranked = redis.call('ZRANGE', order, 0, -1, 'WITHSCORES')
for i = 1, #ranked, 2 do
  result[#result + 1] = ranked[i]
  result[#result + 1] = ranked[i + 1]
  result[#result + 1] = redis.call('HGET', names, ranked[i])
  result[#result + 1] = redis.call('SISMEMBER', outside, ranked[i])
  result[#result + 1] = redis.call('HGET', logins, ranked[i]) or ''
end
return result
"""
)

#: A node's heartbeat. ARGV: node id, silence in ms after which a node is dead, and
#: 1 to free the dead nodes' nicknames (0 not to). Returns {1 if this node was
#: still registered else 0, the freed nicknames}: each dead node is freed once,
#: by the first caller that finds it dead.
HEARTBEAT = Script(
    _PRELUDE
    + """
local node, silence = ARGV[1], tonumber(ARGV[2])
local now = redis.call('TIME')
local ms = tonumber(now[1]) * 1000 + math.floor(tonumber(now[2]) / 1000)
local registered = redis.call('ZSCORE', nodes, node) and 1 or 0
redis.call('ZADD', nodes, ms, node)
local freed = {}
if ARGV[3] == '1' then
  for _, dead in ipairs(redis.call('ZRANGEBYSCORE', nodes, '-inf', '(' .. (ms - silence))) do
    for _, nickname in ipairs(free_node(dead)) do freed[#freed + 1] = nickname end
    redis.call('ZREM', nodes, dead)
  end
end
return {registered, freed}
"""
)

#: A node leaves for good (shutdown). ARGV: node id. Returns its freed nicknames.
DEPART = Script(
    _PRELUDE
    + """
local freed = free_node(ARGV[1])
redis.call('ZREM', nodes, ARGV[1])
return freed
"""
)

#: What L{OPEN_ROOM} answers first when its call created the room (1: it existed).
CREATED: Final = 2

#: A node begins reading a room beside the default one (its first member here joins).
#: ARGV: room key, display name, --max-rooms (0: off). Registers the room if it is
#: new, unless --max-rooms rooms exist (the default room counted): then returns {0}.
#: Else {1 (CREATED if it registered the room), its newest id, its newest feed entry
#: id, its display name, its topic, then key, join order, nickname for each member in
#: join order}.
OPEN_ROOM = Script(
    _PRELUDE
    + """
local room, limit = ARGV[1], tonumber(ARGV[3])
local counter, room_history, room_feed, members = room_keys(room)
local opened = 1
if redis.call('HEXISTS', rooms, room) == 0 then
  if limit > 0 and redis.call('HLEN', rooms) + 1 >= limit then return {0} end
  redis.call('HSET', rooms, room, ARGV[2])
  opened = CREATED
end
local tail = redis.call('XREVRANGE', room_feed, '+', '-', 'COUNT', 1)[1]
local result = {opened, newest_in(counter, room_history), tail and tail[1] or '0-0',
  redis.call('HGET', rooms, room), redis.call('HGET', topics, room) or ''}
local ranked = redis.call('ZRANGE', members, 0, -1, 'WITHSCORES')
for i = 1, #ranked, 2 do
  result[#result + 1] = ranked[i]
  result[#result + 1] = ranked[i + 1]
  result[#result + 1] = redis.call('HGET', names, ranked[i]) or '""'
end
return result
""".replace("CREATED", str(CREATED))
)

#: One room beside the default one, as every node sees it (IRC's NAMES, WHO and TOPIC of
#: a room nobody here is in). ARGV: room key. Returns {} when no such room exists, else
#: {its display name, its topic, then each member's nickname in join order}.
ABOUT_ROOM = Script(
    _PRELUDE
    + """
local room = ARGV[1]
local name = redis.call('HGET', rooms, room)
if not name then return {} end
local _, _, _, members = room_keys(room)
local result = {name, redis.call('HGET', topics, room) or ''}
for _, key in ipairs(redis.call('ZRANGE', members, 0, -1)) do
  result[#result + 1] = redis.call('HGET', names, key) or '""'
end
return result
"""
)

#: Every room beside the default one, for `rooms`. ARGV: how many at most (sorted by
#: key). Returns {how many exist, then key, display name, topic, members per room}.
LIST_ROOMS = Script(
    _PRELUDE
    + """
local keys = redis.call('HKEYS', rooms)
table.sort(keys)
local result = {#keys}
for i = 1, math.min(#keys, tonumber(ARGV[1])) do
  local room = keys[i]
  local _, _, _, members = room_keys(room)
  result[#result + 1] = room
  result[#result + 1] = redis.call('HGET', rooms, room)
  result[#result + 1] = redis.call('HGET', topics, room) or ''
  result[#result + 1] = redis.call('ZCARD', members)
end
return result
"""
)

#: The rooms (beside the default one) the holder of a nickname key is in. ARGV: the
#: key. Returns {room key, display name, ...}.
ROOMS_OF = Script(
    _PRELUDE
    + """
local result = {}
for _, room in ipairs(redis.call('SMEMBERS', rooms_of(ARGV[1]))) do
  result[#result + 1] = room
  result[#result + 1] = redis.call('HGET', rooms, room) or room
end
return result
"""
)

SCRIPTS: Final = (WRITE, START, HEARTBEAT, DEPART, OPEN_ROOM, ABOUT_ROOM, LIST_ROOMS, ROOMS_OF)
