// The chat protocol over a WebSocket, without any DOM (docs/protocol.md sections 2-9 and
// 12): the handshake, resume with `since` and the resume token, dedupe by id, one frame in
// flight at a time, pacing on `rate-limited`, reconnecting with backoff, and rooms (joined,
// rejoined after a reconnect with `since`, scrolled back with `history`).

import { isReceipt, nicknameKey, operatorsAfter, operatorsListed } from "./moderation.js";
import {
  CATCH_UP_BATCH,
  DEFAULT_ROOM,
  MAX_LISTED_ROOMS,
  MAX_NAME_PROBES,
  OLDER_BATCH,
  RoomState,
  roomKey,
} from "./rooms.js";

/** The subprotocol the WebSocket door selects (docs/protocol.md section 9). */
export const SUBPROTOCOL = "chatproto.v1";

/** Reconnect waits: the first, the growth factor, the longest, and the random extra (s). */
const BACKOFF = { first: 0.5, factor: 1.5, longest: 30, jitter: 1 };

/** How many typed messages may wait to be sent; past this, typing is refused, not lost. */
export const MAX_WAITING = 100;

const CONTROL_WORDS = new Set(["HELLO", "NICK", "READY", "RETRY", "BYE"]);

/** The WebSocket URL of the chat on the server that served this page. */
export function chatUrl(location) {
  const scheme = location.protocol === "https:" ? "wss:" : "ws:";
  return `${scheme}//${location.host}/chat`;
}

/**
 * Why the server would refuse this nickname (docs/protocol.md section 3), for a person;
 * null when it is valid. A valid nickname the server still refuses is taken.
 */
export function nicknameProblem(typed) {
  const nick = typed.normalize("NFKC");
  const length = [...nick].length;
  if (length === 0) return "Type a nickname.";
  if (length > 32) return "A nickname is at most 32 characters long.";
  if (/\s/u.test(nick)) return "A nickname cannot contain spaces.";
  if (/[\p{Cc}\p{Cf}\p{Cs}\p{Cn}]/u.test(nick)) {
    return "A nickname cannot contain control or invisible characters.";
  }
  if (/[!@,*?:]/u.test(nick)) return "A nickname cannot contain ! @ , * ? or :.";
  if (/^[#&]/u.test(nick)) return "A nickname cannot start with # or &.";
  if (CONTROL_WORDS.has(nick)) return `${nick} is a protocol word, not a nickname.`;
  if (nick.toLowerCase() === "server") return "The nickname server is reserved.";
  return null;
}

/** Notices about one room (the default room when they name none); others are about none. */
const ROOM_EVENTS = new Set([
  "welcome", "join", "leave", "who", "topic", "history", "moderation", "redact", "bans",
]);

/**
 * One person's chat session: it keeps a connection to the server while the person wants one,
 * stays in the rooms the person joined (rejoining them after a reconnect), and tells a view
 * what to show. Rooms are named by key (rooms.js: DEFAULT_ROOM for the default room); the
 * session's `rooms` map holds a RoomState per room. The view has these methods:
 *   status(state, seconds)       "connecting" | "choosing" | "online" | "offline" | "left";
 *                                seconds until the next try when offline; out of "online",
 *                                nobody is known to be online until the next welcome
 *   nicknameRefused(nick, resumed, refusal)  the server said RETRY: ask for another
 *                                nickname, or (refusal.code account-required or
 *                                auth-failed) for the password of this one
 *   joined(nick)                 READY: the nickname is ours
 *   replayStarts(room, resumed)  replayed history of `room` follows (resumed: a rejoin)
 *   chat(packet, mine, room)     a chat packet not shown before; room: null when private
 *   older(room, packets)         older messages of `room` from scrollback, oldest first
 *   notice(packet, room)         a server notice; room: null when it is about no room
 *   entered(room, asked)         `room`'s welcome came (asked: the person joined it just now)
 *   left(room, name, packet)     the session is no longer in `room` (packet: the `leave`
 *                                notice, whose reason may be kicked or banned, or none)
 *   roomsChanged()               a room's name, topic or membership changed
 *   roomList(entries)            the server's list of rooms: [{room, users, topic}]
 *   missed(room, count)          messages that could not be replayed after a reconnect
 *   users(room, names)           who is in `room` now, in join order (and who operates it:
 *                                rooms.get(room).operators)
 *   redacted(room, id)           message `id` of `room` was redacted: remove it
 *   waiting(items, pause)        what waits to be sent, and seconds of rate-limit pause
 *   refused(item, packet)        the server refused an item with an error notice
 */
export class ChatSession {
  constructor(url, view) {
    this.url = url;
    this.view = view;
    this.socket = null;
    this.nickname = null; // as the server displays it (NFKC), once chosen
    // The password to log in with: in memory until READY, then forgotten (never stored);
    // a rejoin resumes with the token, and asks again if the server wants it.
    this.password = null;
    this.account = null; // the account logged in to, as the welcome says
    this.refusal = null; // the error notice that came before a RETRY
    this.state = "idle";
    this.everJoined = false;
    this.welcomed = false; // sending waits for the default room's welcome after READY
    this.rooms = new Map([[DEFAULT_ROOM, new RoomState(null)]]);
    this.defaultName = null; // the default room's name, once a join by name shows it
    this.roomList = []; // the server's last `rooms` answer
    this.olderBatch = []; // scrollback messages received for the history request in flight
    this.token = null;
    this.outbox = []; // items not yet accepted: {packet, line, room}; line null if not typed
    this.inFlight = null; // the item sent and not yet answered
    this.unsure = null; // the item in flight when the connection dropped
    this.pauseTimer = null;
    this.pause = 0; // seconds the server asked to wait before the item in flight goes again
    this.reconnectTimer = null;
    this.attempts = 0;
  }

  /** Join the chat as `nickname` (connecting if needed), logging in with `password`. */
  join(nickname, password = null) {
    this.nickname = nickname.normalize("NFKC");
    this.password = password;
    if (this.state === "choosing") {
      this._sendNickname();
    } else if (!this.socket) {
      this._connect();
    }
  }

  /** The key of the room called `name` (the default room's key for its own name). */
  keyOf(name) {
    const key = roomKey(name);
    return this.defaultName !== null && key === roomKey(this.defaultName) ? DEFAULT_ROOM : key;
  }

  /** Send `text` to everyone in `room`, or to `to` only; `line` is what the person typed. */
  say(text, to, line, room = DEFAULT_ROOM) {
    const packet = to ? { message: text, to } : { message: text, ...this._target(room) };
    return this._enqueue(packet, line, to ? null : room);
  }

  /** Register the nickname held with `password` (answered by `registered`). */
  register(password) {
    return this._enqueue({ command: "register", password }, null, null);
  }

  /** Ask who is in `room`. */
  who(line, room = DEFAULT_ROOM) {
    return this._enqueue({ command: "who", ...this._target(room) }, line, room);
  }

  /** Join the room called `name`. */
  joinRoom(name, line) {
    return this._enqueue({ command: "join", room: name.normalize("NFKC") }, line, this.keyOf(name));
  }

  /** Leave `room`. */
  partRoom(room, line) {
    return this._enqueue({ command: "part", ...this._target(room) }, line, room);
  }

  /** Set the topic of `room` (empty clears it). */
  setTopic(room, topic, line) {
    return this._enqueue({ command: "topic", ...this._target(room), topic }, line, room);
  }

  /**
   * Send the moderation command `command` (docs/protocol.md section 14) about `room` with
   * `fields` (user, mask, seconds, comment, on); `line`: what was typed, or null (a menu).
   */
  moderate(command, fields, room, line = null) {
    const where = command === "announce" ? {} : this._target(room);
    return this._enqueue({ command, ...where, ...fields }, line, room);
  }

  /** Whether this session operates `room`, as far as it was told. */
  operates(room) {
    const operators = this.rooms.get(room)?.operators ?? [];
    return this.nickname !== null &&
      operators.some((name) => nicknameKey(name) === nicknameKey(this.nickname));
  }

  /** Ask the server which rooms exist (line: null when the person did not ask). */
  listRooms(line = null) {
    return this._enqueue({ command: "rooms" }, line, null);
  }

  /** Ask for `room`'s messages older than those shown; false when there are none to ask. */
  loadOlder(room) {
    const state = this.rooms.get(room);
    if (!this.welcomed || !state?.canLoadOlder()) return false;
    const packet = { command: "history", ...this._target(room), before: state.olderBefore };
    state.loadingOlder = this._enqueue({ ...packet, limit: OLDER_BATCH }, null, room);
    return state.loadingOlder;
  }

  /** Leave the chat: BYE, and no reconnect. */
  quit() {
    clearTimeout(this.reconnectTimer);
    this.state = "left";
    if (this.socket && this.socket.readyState === WebSocket.OPEN) {
      this.socket.send("BYE"); // the server closes the connection once it has sent what it owes
    } else {
      this.socket?.close();
      this._closed();
    }
  }

  /** Try to connect now instead of waiting for the backoff. */
  reconnectNow() {
    if (this.state !== "offline") return;
    clearTimeout(this.reconnectTimer);
    this._connect();
  }

  /** The `room` field that names `room` to the server: none for the default room. */
  _target(room) {
    if (room === DEFAULT_ROOM) return {};
    return { room: this.rooms.get(room)?.name ?? room };
  }

  /** The key of the room a received packet is about. */
  _roomOf(packet) {
    return typeof packet.room === "string" ? this.keyOf(packet.room) : DEFAULT_ROOM;
  }

  /** The state of `room`, made on its first packet (a join's replay comes before its welcome). */
  _room(room, name) {
    if (!this.rooms.has(room)) {
      this.rooms.set(room, new RoomState(room === DEFAULT_ROOM ? this.defaultName : name));
    }
    return this.rooms.get(room);
  }

  _connect() {
    this._setState("connecting");
    const socket = new WebSocket(this.url, SUBPROTOCOL);
    this.socket = socket;
    socket.onmessage = (event) => {
      if (socket === this.socket && typeof event.data === "string") this._received(event.data);
    };
    socket.onclose = () => {
      if (socket === this.socket) this._closed();
    };
  }

  _received(text) {
    if (text === "HELLO") return;
    if (text === "NICK") {
      this._setState("choosing");
      if (this.nickname) this._sendNickname();
    } else if (text === "READY") {
      this._ready();
    } else if (text === "RETRY") {
      const refused = this.nickname;
      const refusal = this.refusal;
      this.nickname = null;
      this.password = null;
      this.refusal = null;
      this.view.nicknameRefused(refused, this.everJoined, refusal);
    } else if (text.startsWith("{")) {
      try {
        this._packet(JSON.parse(text));
      } catch (error) {
        if (!(error instanceof SyntaxError)) throw error; // not a packet: nothing to show
      }
    }
  }

  _sendNickname() {
    // After a first join, always resume: the server replays what this page has not shown.
    const since = this.rooms.get(DEFAULT_ROOM)?.lastId ?? 0;
    // The JSON form even the first time: its refusal says why (a registered nickname).
    const frame = { nickname: this.nickname };
    if (this.everJoined) Object.assign(frame, { since, token: this.token });
    if (this.password !== null) frame.password = this.password;
    this.socket.send(JSON.stringify(frame));
  }

  _ready() {
    const resumed = this.everJoined;
    this.everJoined = true;
    this.attempts = 0;
    this.password = null;
    this._room(DEFAULT_ROOM); // the server puts every client in the default room at READY
    for (const state of this.rooms.values()) {
      state.idBeforeReplay = state.lastId;
      if (state.status === "in") state.status = "rejoining";
    }
    this._setState("online");
    this.view.joined(this.nickname);
    for (const room of this.rooms.keys()) this.view.replayStarts(room, resumed);
  }

  _packet(packet) {
    if (typeof packet.event === "string") {
      this._notice(packet);
    } else if (typeof packet.message === "string") {
      this._chat(packet);
    }
  }

  _chat(packet) {
    const room = typeof packet.to === "string" ? null : this._roomOf(packet);
    if (room !== null && this._isOlder(packet, room)) {
      this.olderBatch.push(packet);
      return;
    }
    if (room !== null && Number.isInteger(packet.id)) {
      const state = this._room(room, packet.room);
      if (packet.id <= state.lastId) return; // shown already
      state.saw(packet.id);
    }
    const mine = packet.nickname === this.nickname;
    if (mine) this._settleEcho(packet, room);
    this.view.chat(packet, mine, room);
  }

  /** Whether `packet` answers the scrollback request in flight for `room`. */
  _isOlder(packet, room) {
    const asked = this.inFlight?.packet;
    return (
      packet.history === true &&
      asked?.command === "history" &&
      "before" in asked &&
      this.inFlight.room === room
    );
  }

  /** Our own copy came back: the item in flight (or lost in a drop) was accepted. */
  _settleEcho(packet, room) {
    if (packet.history) {
      const unsure = this.unsure;
      if (unsure && unsure.packet.message === packet.message && unsure.room === room) {
        this.outbox.splice(this.outbox.indexOf(unsure), 1);
        this.unsure = null;
        this._showWaiting();
      }
    } else if (this.inFlight && "message" in this.inFlight.packet) {
      this._settled(); // one item is in flight at a time, so this copy is its receipt
    }
  }

  _notice(packet) {
    if (this.state === "choosing" && packet.event === "error") {
      this.refusal = packet; // why the RETRY that follows refuses the nickname
      return;
    }
    const room = ROOM_EVENTS.has(packet.event) ? this._roomOf(packet) : null;
    const state = room === null ? null : this.rooms.get(room);
    const receipt = isReceipt(this.inFlight?.packet, packet, this.nickname);
    if (state && (packet.event === "leave" || packet.event === "moderation")) {
      state.operators = operatorsAfter(state.operators, packet);
    }
    switch (packet.event) {
      case "welcome":
        this._welcome(packet, room);
        return;
      case "history":
        this._historyAnswered(packet, room);
        return;
      case "join":
        if (state) {
          const others = state.users.filter((name) => name !== packet.user);
          this._setUsers(room, [...others, packet.user]);
        }
        break;
      case "leave":
        if (packet.user === this.nickname) {
          this._left(packet, room);
          return;
        }
        if (state) this._setUsers(room, state.users.filter((name) => name !== packet.user));
        break;
      case "who":
        if (state) state.operators = operatorsListed(packet);
        if (state && Array.isArray(packet.users)) this._setUsers(room, packet.users);
        if (this.inFlight?.probe && room === DEFAULT_ROOM) {
          this._foundDefaultName(this.inFlight.packet.room);
          this._settled();
          return;
        }
        this._settleCommand("who");
        break;
      case "topic":
        if (state) {
          state.topic = String(packet.topic ?? "");
          this.view.roomsChanged();
        }
        if (packet.user === this.nickname) this._settleCommand("topic");
        break;
      case "rooms":
        this._roomsListed(packet);
        return;
      case "moderation":
        if (state) this.view.users(room, state.users); // an op or a deop shows there
        break;
      case "redact":
        if (Number.isInteger(packet.id)) this.view.redacted(room, packet.id);
        break;
      case "registered":
        this.account = typeof packet.account === "string" ? packet.account : null;
        this._settleCommand("register");
        break;
      case "error":
        if (this.inFlight) {
          this._refused(packet);
          return;
        }
        break;
    }
    this.view.notice(packet, room);
    if (receipt) this._settled();
  }

  _welcome(packet, room) {
    const asked = this.inFlight?.packet.command === "join" && this._answersJoin(room);
    if (asked && room === DEFAULT_ROOM && this.defaultName === null) {
      this._foundDefaultName(this.inFlight.packet.room); // joined by name, answered as default
    }
    if (room === DEFAULT_ROOM && !this.welcomed) {
      this.token = typeof packet.resume_token === "string" ? packet.resume_token : null;
      this.account = typeof packet.account === "string" ? packet.account : null;
    }
    const state = this._room(room, packet.room);
    if (room === DEFAULT_ROOM && this.defaultName !== null) state.name = this.defaultName;
    const firstId = Number.isInteger(packet.first_id) ? packet.first_id : 0;
    const lastId = Number.isInteger(packet.last_id) ? packet.last_id : 0;
    if (state.idBeforeReplay > 0 && firstId > state.idBeforeReplay + 1) {
      this.view.missed(room, firstId - state.idBeforeReplay - 1);
    }
    state.idBeforeReplay = 0;
    // Already a member (a takeover, or a join of a room one is in): no replay came, so
    // what was said since the last message shown is fetched with `history`.
    const behind = state.status !== "joining" && lastId > state.lastId;
    if (state.status === "joining") state.lastId = Math.max(state.lastId, lastId);
    state.status = "in";
    state.firstId = firstId;
    if (typeof packet.topic === "string") state.topic = packet.topic;
    state.operators = operatorsListed(packet);
    if (this.unsure && (this.unsure.room ?? DEFAULT_ROOM) === room) {
      this.unsure = null; // the replay is over: what it did not show was not accepted
    }
    if (Array.isArray(packet.users)) this._setUsers(room, packet.users);
    this.view.notice(packet, room);
    this.view.entered(room, asked && this.inFlight.line !== null);
    this.view.roomsChanged();
    if (room === DEFAULT_ROOM && !this.welcomed) this._rejoin();
    if (behind) this._catchUp(room, state);
    if (asked) this._settled();
    else this._sendNext();
  }

  /** Whether a welcome about `room` answers the join in flight (not a takeover's welcome). */
  _answersJoin(room) {
    const state = this.rooms.get(room);
    return room === this.inFlight.room || !state || state.status !== "rejoining";
  }

  /** After READY: join again every room this session was in, from where it stopped. */
  _rejoin() {
    this.welcomed = true;
    const rejoins = [];
    for (const [room, state] of this.rooms) {
      if (room !== DEFAULT_ROOM && state.status === "rejoining") {
        const packet = { command: "join", room: state.name, since: state.lastId };
        rejoins.push({ packet, line: null, room });
      }
    }
    this.outbox.unshift(...rejoins);
  }

  /** Fetch the messages of `room` newer than the last shown, before anything else goes. */
  _catchUp(room, state) {
    const asked = [this.inFlight, ...this.outbox].some(
      (item) => item?.room === room && item.packet.command === "history" && "since" in item.packet,
    );
    if (asked) return; // on its way already
    const packet = { command: "history", ...this._target(room), since: state.lastId };
    this.outbox.unshift({ packet: { ...packet, limit: CATCH_UP_BATCH }, line: null, room });
  }

  _historyAnswered(packet, room) {
    const item = this.inFlight;
    if (item?.packet.command !== "history") return;
    const state = this.rooms.get(room);
    if ("before" in item.packet) {
      // Only what is older than the oldest shown: nothing is shown twice.
      const older = this.olderBatch.filter((found) => !state || found.id < state.olderBefore);
      this.olderBatch = [];
      if (state) {
        state.loadingOlder = false;
        if (Number.isInteger(packet.first_id)) state.firstId = packet.first_id;
        for (const found of older) if (Number.isInteger(found.id)) state.saw(found.id);
        if (older.length === 0) state.olderDone = true;
        this.view.older(room, older);
      }
    } else if (state && packet.count === item.packet.limit) {
      this._catchUp(room, state); // more than one batch was missed
    }
    this._settled();
  }

  _left(packet, room) {
    const state = this.rooms.get(room);
    this.rooms.delete(room);
    this.view.notice(packet, room);
    this.view.left(room, state?.name ?? packet.room ?? this.defaultName, packet);
    this.view.roomsChanged();
    this._settleCommand("part");
  }

  _roomsListed(packet) {
    const listed = Array.isArray(packet.rooms) ? packet.rooms : [];
    this.roomList = listed
      .filter((entry) => typeof entry?.room === "string")
      .slice(0, MAX_LISTED_ROOMS)
      .map((entry) => ({
        room: entry.room,
        users: Number.isInteger(entry.users) ? entry.users : 0,
        topic: typeof entry.topic === "string" ? entry.topic : "",
      }));
    this.view.roomList(this.roomList);
    if (this.defaultName === null) this._probeDefaultName();
    if (this.inFlight?.packet.command === "rooms") {
      if (this.inFlight.line !== null) this.view.notice(packet, null);
      this._settled();
    }
  }

  /**
   * Find which listed room is the default room, whose packets never name it: ask `who` of
   * the few rooms this session is not in by name that have as many people as the default
   * room. The default room's answer names no room; the others answer `not-in-room`.
   */
  _probeDefaultName() {
    const here = this.rooms.get(DEFAULT_ROOM);
    if (here?.status !== "in") return;
    const candidates = this.roomList
      .filter((entry) => entry.users === here.users.length)
      .filter((entry) => !this.rooms.has(this.keyOf(entry.room)))
      .slice(0, MAX_NAME_PROBES);
    for (const { room } of candidates) {
      this.outbox.push({ packet: { command: "who", room }, line: null, room: null, probe: true });
    }
  }

  _foundDefaultName(name) {
    this.defaultName = name;
    const state = this.rooms.get(DEFAULT_ROOM);
    if (state) state.name = name;
    this.outbox = this.outbox.filter((item) => !item.probe);
    this.view.roomsChanged();
  }

  /** The answer to a `command` in flight came. */
  _settleCommand(command) {
    if (this.inFlight?.packet.command === command) this._settled();
  }

  _refused(packet) {
    // A registration refused for the hour is refused: only the frame rate is waited out.
    if (packet.code === "rate-limited" && this.inFlight.packet.command !== "register") {
      // Keep the item in flight and send it again once the server will take it.
      this.pause = Math.max(Number(packet.retry_after) || 1, 0.05);
      this.pauseTimer = setTimeout(() => {
        this.pauseTimer = null;
        this.pause = 0;
        this._resend();
      }, this.pause * 1000);
      this._showWaiting();
      return;
    }
    const item = this.inFlight;
    this.inFlight = null;
    this.olderBatch = [];
    if (item.probe) {
      this._sendNext(); // not the default room: the answer is only for the session
      return;
    }
    const state = this.rooms.get(item.room);
    if (item.packet.command === "history" && state) state.loadingOlder = false;
    if (item.packet.command === "join" && state && state.status !== "in") {
      this.rooms.delete(item.room); // a rejoin refused (too many rooms): no longer in it
      this.view.left(item.room, state.name, null);
      this.view.roomsChanged();
    }
    this.view.refused(item, packet);
    this._sendNext();
  }

  _resend() {
    if (this.inFlight && this.welcomed) {
      this.socket.send(JSON.stringify(this.inFlight.packet));
    }
    this._showWaiting();
  }

  _settled() {
    this.inFlight = null;
    this._sendNext();
  }

  _enqueue(packet, line, room) {
    if (this.outbox.length >= MAX_WAITING) return false;
    this.outbox.push({ packet, line, room });
    this._sendNext();
    return true;
  }

  _sendNext() {
    if (this.welcomed && !this.inFlight && !this.pauseTimer && this.outbox.length > 0) {
      this.inFlight = this.outbox.shift();
      this.socket.send(JSON.stringify(this.inFlight.packet));
    }
    this._showWaiting();
  }

  _showWaiting() {
    const items = this.inFlight ? [this.inFlight, ...this.outbox] : [...this.outbox];
    this.view.waiting(items, this.pause);
  }

  _setUsers(room, names) {
    const state = this._room(room);
    state.users = names.filter((name) => typeof name === "string");
    this.view.users(room, state.users);
  }

  _closed() {
    this.socket = null;
    this.welcomed = false;
    for (const state of this.rooms.values()) {
      state.users = []; // who is in each room is unknown until its next welcome
      state.loadingOlder = false;
    }
    this.olderBatch = [];
    clearTimeout(this.pauseTimer);
    this.pauseTimer = null;
    this.pause = 0;
    if (this.inFlight?.line === null) this.inFlight = null; // the page asks again if needed
    if (this.inFlight) {
      // Maybe accepted before the drop: the replay after the rejoin tells.
      this.outbox.unshift(this.inFlight);
      this.unsure = this.inFlight;
      this.inFlight = null;
    }
    // Rejoins, lists and history the page asked for itself are asked again after READY.
    this.outbox = this.outbox.filter((item) => item.line !== null);
    if (this.state === "left") {
      this._setState("left");
      return;
    }
    const wait = Math.min(BACKOFF.longest, BACKOFF.first * BACKOFF.factor ** this.attempts);
    const seconds = wait + Math.random() * BACKOFF.jitter;
    this.attempts += 1;
    this._setState("offline", seconds);
    this.reconnectTimer = setTimeout(() => this._connect(), seconds * 1000);
    this._showWaiting();
  }

  _setState(state, seconds = 0) {
    this.state = state;
    this.view.status(state, seconds);
  }
}
