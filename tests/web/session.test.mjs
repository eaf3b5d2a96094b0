// The web client's session (protocol.js) without a browser: rooms as docs/protocol.md
// section 12 has them, driven frame by frame through a fake WebSocket. Run by
// test_session_js.py (node --test).

import assert from "node:assert/strict";
import { beforeEach, test } from "node:test";

import { ChatSession } from "../../chatproto/doors/websocket/static/protocol.js";
import { DEFAULT_ROOM } from "../../chatproto/doors/websocket/static/rooms.js";

/** The socket the session opened last, and what it sent (JSON packets parsed). */
let socket;

class FakeSocket {
  static OPEN = 1;

  constructor() {
    this.readyState = FakeSocket.OPEN;
    this.sent = [];
    socket = this;
  }

  send(frame) {
    this.sent.push(frame.startsWith("{") ? JSON.parse(frame) : frame);
  }

  close() {}
}
globalThis.WebSocket = FakeSocket;

/** A view that records every call as [method, ...arguments]. */
function recordingView() {
  const calls = [];
  const view = new Proxy({}, { get: (_, method) => (...args) => calls.push([method, ...args]) });
  return { view, calls };
}

let session;
let calls;

/** The server sends `frame` (an object is sent as JSON). */
function receive(frame) {
  socket.onmessage({ data: typeof frame === "string" ? frame : JSON.stringify(frame) });
}

/** The handshake as far as READY and the default room's welcome. */
function connect(welcome = {}) {
  session.join("alice");
  receive("HELLO");
  receive("NICK");
  receive("READY");
  receive({ event: "welcome", users: ["alice"], last_id: 0, first_id: 0, ...welcome });
}

/** Join `room` by command, with its replay of `ids` and welcome. */
function enter(room, ids = [], welcome = {}) {
  session.joinRoom(room, `/join ${room}`);
  for (const id of ids) receive({ id, room, nickname: "bob", message: `m${id}`, history: true });
  const lastId = ids.at(-1) ?? 0;
  receive({ event: "welcome", room, users: ["bob", "alice"], last_id: lastId, first_id: 1, ...welcome });
}

const shown = (method) => calls.filter(([name]) => name === method);

beforeEach(() => {
  const recorded = recordingView();
  calls = recorded.calls;
  session = new ChatSession("ws://chat.test/chat", recorded.view);
});

test("packets without room are the default room's; a room's packets name it", () => {
  connect();
  enter("#rust");
  session.say("hi rust", null, "hi rust", "#rust");
  assert.deepEqual(socket.sent.at(-1), { message: "hi rust", room: "#rust" });
  receive({ id: 1, room: "#rust", nickname: "alice", message: "hi rust" });
  session.say("hi all", null, "hi all", DEFAULT_ROOM);
  assert.deepEqual(socket.sent.at(-1), { message: "hi all" });
  receive({ id: 1, nickname: "bob", message: "hi all" }); // ids are per room: no duplicate
  const rooms = shown("chat").map(([, packet, , room]) => [packet.message, room]);
  assert.deepEqual(rooms, [["hi rust", "#rust"], ["hi all", DEFAULT_ROOM]]);
});

test("after a reconnect each room is joined again with since, before what was typed", () => {
  connect({ last_id: 4 });
  enter("#rust", [7, 8]);
  enter("#go");
  socket.onclose();
  session.say("typed offline", null, "typed offline", "#rust");
  session.reconnectNow();
  receive("HELLO");
  receive("NICK");
  assert.deepEqual(socket.sent.at(-1), { nickname: "alice", since: 4, token: null });
  receive("READY");
  receive({ event: "welcome", users: ["alice"], last_id: 4, first_id: 1 });
  assert.deepEqual(socket.sent.at(-1), { command: "join", room: "#rust", since: 8 });
  receive({ id: 8, room: "#rust", nickname: "bob", message: "m8", history: true }); // shown
  receive({ id: 9, room: "#rust", nickname: "bob", message: "m9", history: true });
  receive({ event: "welcome", room: "#rust", users: ["alice"], last_id: 9, first_id: 1 });
  assert.deepEqual(socket.sent.at(-1), { command: "join", room: "#go", since: 0 });
  receive({ event: "welcome", room: "#go", users: ["alice"], last_id: 0, first_id: 0 });
  assert.deepEqual(socket.sent.at(-1), { message: "typed offline", room: "#rust" });
  const messages = shown("chat").map(([, packet]) => packet.message);
  assert.deepEqual(messages, ["m7", "m8", "m9"]);
});

test("a welcome without a replay (a takeover) is caught up with history since", () => {
  connect();
  enter("#rust", [1, 2]);
  socket.onclose();
  session.reconnectNow();
  receive("HELLO");
  receive("NICK");
  receive("READY");
  receive({ event: "welcome", users: ["alice"], last_id: 0, first_id: 0 });
  // The old connection's rooms are kept: their welcomes come, with no replay.
  receive({ event: "welcome", room: "#rust", users: ["alice"], last_id: 3, first_id: 1 });
  receive({ event: "welcome", room: "#rust", users: ["alice"], last_id: 3, first_id: 1 });
  assert.deepEqual(socket.sent.at(-1), {
    command: "history",
    room: "#rust",
    since: 2,
    limit: 100,
  });
  receive({ id: 3, room: "#rust", nickname: "bob", message: "m3", history: true });
  receive({ event: "history", room: "#rust", count: 1, first_id: 1 });
  const messages = shown("chat").map(([, packet]) => packet.message);
  assert.deepEqual(messages, ["m1", "m2", "m3"]);
  assert.equal(socket.sent.filter((packet) => packet.command === "history").length, 1);
});

test("scrollback asks for what is older than the oldest shown, until the first kept", () => {
  connect();
  enter("#rust", [60, 61]);
  assert.equal(session.loadOlder("#rust"), true);
  assert.equal(session.loadOlder("#rust"), false); // one request at a time
  assert.deepEqual(socket.sent.at(-1), { command: "history", room: "#rust", before: 60, limit: 50 });
  for (const id of [1, 2, 60]) {
    receive({ id, room: "#rust", nickname: "bob", message: `m${id}`, history: true });
  }
  receive({ event: "history", room: "#rust", count: 3, first_id: 1 });
  const [[, room, older]] = shown("older");
  assert.equal(room, "#rust");
  assert.deepEqual(older.map((packet) => packet.id), [1, 2]); // 60 was shown already
  assert.equal(session.loadOlder("#rust"), false); // id 1 is the oldest kept
  assert.equal(shown("chat").length, 2);
});

test("the default room's name is found by asking who of the listed rooms", () => {
  connect();
  session.listRooms();
  receive({
    event: "rooms",
    rooms: [
      { room: "#a", users: 1, topic: "" },
      { room: "#chat", users: 1, topic: "" },
      { room: "#z", users: 1, topic: "" },
    ],
  });
  assert.deepEqual(socket.sent.at(-1), { command: "who", room: "#a" });
  receive({ event: "error", code: "not-in-room", message: "You are not in #a" });
  assert.deepEqual(socket.sent.at(-1), { command: "who", room: "#chat" });
  receive({ event: "who", users: ["alice"] }); // about the default room: it names none
  assert.equal(session.defaultName, "#chat");
  assert.equal(session.rooms.get(DEFAULT_ROOM).name, "#chat");
  assert.equal(session.keyOf("#CHAT"), DEFAULT_ROOM);
  assert.equal(socket.sent.length, 4); // #z is not asked
  assert.deepEqual(shown("refused"), []); // the page asked: nothing to tell the person
});

test("a rejoin refused leaves the room", () => {
  connect();
  enter("#rust");
  socket.onclose();
  session.reconnectNow();
  receive("HELLO");
  receive("NICK");
  receive("READY");
  receive({ event: "welcome", users: ["alice"], last_id: 0, first_id: 0 });
  receive({ event: "error", code: "too-many-rooms", message: "At most 1 room" });
  assert.deepEqual([...session.rooms.keys()], [DEFAULT_ROOM]);
  assert.deepEqual(shown("left").map(([, room]) => room), ["#rust"]);
});

test("operators follow the welcome, who, op, deop and leave", () => {
  connect({ users: ["alice", "bob"], operators: ["alice"] });
  assert.equal(session.operates(DEFAULT_ROOM), true);
  enter("#rust", [], { operators: ["bob"] });
  assert.equal(session.operates("#rust"), false);
  receive({ event: "moderation", room: "#rust", action: "op", by: "bob", user: "alice" });
  assert.equal(session.operates("#rust"), true);
  assert.deepEqual(session.rooms.get("#rust").operators, ["bob", "alice"]);
  receive({ event: "leave", room: "#rust", user: "bob", reason: "bye" });
  assert.deepEqual(session.rooms.get("#rust").operators, ["alice"]);
  receive({ event: "moderation", action: "deop", by: "carol", user: "ALICE" });
  assert.equal(session.operates(DEFAULT_ROOM), false);
  receive({ event: "who", room: "#rust", users: ["alice"], operators: [] });
  assert.equal(session.operates("#rust"), false);
});

test("a moderation command is settled by its receipt, not by another notice", () => {
  connect({ users: ["alice", "bob"], operators: ["alice"] });
  session.moderate("mute", { user: "bob", seconds: 600 }, DEFAULT_ROOM);
  session.moderate("kick", { user: "bob" }, DEFAULT_ROOM);
  assert.deepEqual(socket.sent.at(-1), { command: "mute", user: "bob", seconds: 600 });
  receive({ event: "moderation", action: "mute", by: "carol", user: "bob" }); // someone else's
  assert.equal(socket.sent.length, 2); // nickname frame, mute: the kick waits
  receive({ event: "moderation", action: "mute", by: "alice", user: "bob", seconds: 600 });
  assert.deepEqual(socket.sent.at(-1), { command: "kick", user: "bob" });
  receive({ event: "leave", user: "bob", reason: "kicked", by: "alice" });
  assert.equal(session.inFlight, null);
  session.moderate("redact", { id: 7 }, "#nowhere");
  assert.deepEqual(socket.sent.at(-1), { command: "redact", room: "#nowhere", id: 7 });
  receive({ event: "error", code: "not-permitted", message: "Only operators" });
  const [[, item, packet]] = shown("refused");
  assert.deepEqual([item.packet.command, packet.code], ["redact", "not-permitted"]);
});

test("a redact notice removes the message; a kick of this session leaves the room", () => {
  connect();
  enter("#rust", [1, 2]);
  session.moderate("redact", { id: 2 }, "#rust");
  receive({ event: "redact", room: "#rust", id: 2, by: "alice" });
  assert.deepEqual(shown("redacted"), [["redacted", "#rust", 2]]);
  assert.equal(session.inFlight, null);
  receive({ event: "leave", room: "#rust", user: "alice", reason: "kicked", by: "bob", comment: "out" });
  assert.deepEqual([...session.rooms.keys()], [DEFAULT_ROOM]);
  const [[, room, name, packet]] = shown("left");
  assert.deepEqual([room, name, packet.reason, packet.by], ["#rust", "#rust", "kicked", "bob"]);
});

test("announce and bans are settled by their notices; announce names no room", () => {
  connect();
  session.moderate("announce", { text: "restart at noon" }, "#rust");
  assert.deepEqual(socket.sent.at(-1), { command: "announce", text: "restart at noon" });
  session.moderate("bans", {}, DEFAULT_ROOM);
  receive({ event: "announce", message: "restart at noon", by: "alice" });
  assert.deepEqual(socket.sent.at(-1), { command: "bans" });
  receive({ event: "bans", bans: [{ mask: "bob", by: "alice", comment: "", until: null }] });
  assert.equal(session.inFlight, null);
  const events = shown("notice").map(([, packet, room]) => [packet.event, room]);
  assert.deepEqual(events.slice(-2), [["announce", null], ["bans", DEFAULT_ROOM]]);
});
