// The chat protocol over a WebSocket, without any DOM (docs/protocol.md sections 2-9):
// the handshake, resume with `since` and the resume token, dedupe by id, one frame in
// flight at a time, pacing on `rate-limited`, and reconnecting with backoff.

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

/**
 * One person's chat session: it keeps a connection to the room while the person wants one,
 * and tells a view what to show. The view has these methods:
 *   status(state, seconds)       "connecting" | "choosing" | "online" | "offline" | "left";
 *                                seconds until the next try when offline; out of "online",
 *                                nobody is known to be online until the next welcome
 *   nicknameRefused(nick, resumed)  the server said RETRY: ask for another nickname
 *   joined(nick)                 READY: the nickname is ours
 *   replayStarts(resumed)        replayed history follows (resumed: after a reconnect)
 *   chat(packet, mine)           a chat packet not shown before (public or private)
 *   notice(packet)               a server notice (welcome, join, leave, who, error, shutdown)
 *   missed(count)                messages that could not be replayed after a reconnect
 *   users(names)                 who is online now, in join order
 *   waiting(items, pause)        what waits to be sent, and seconds of rate-limit pause
 *   refused(item, packet)        the server refused a typed item with an error notice
 */
export class ChatSession {
  constructor(url, view) {
    this.url = url;
    this.view = view;
    this.socket = null;
    this.nickname = null; // as the server displays it (NFKC), once chosen
    this.state = "idle";
    this.everJoined = false;
    this.welcomed = false; // sending waits for the welcome, which ends the replay
    this.lastId = 0; // newest id shown; every later packet with an id <= this is a duplicate
    this.idBeforeReplay = 0;
    this.token = null;
    this.names = [];
    this.outbox = []; // items typed but not yet accepted: {packet, line}
    this.inFlight = null; // the item sent and not yet answered
    this.unsure = null; // the item in flight when the connection dropped
    this.pauseTimer = null;
    this.pause = 0; // seconds the server asked to wait before the item in flight goes again
    this.reconnectTimer = null;
    this.attempts = 0;
  }

  /** Join the room as `nickname` (connecting if needed). */
  join(nickname) {
    this.nickname = nickname.normalize("NFKC");
    if (this.state === "choosing") {
      this._sendNickname();
    } else if (!this.socket) {
      this._connect();
    }
  }

  /** Send `text` to everyone, or to `to` only; `line` is what the person typed. */
  say(text, to, line) {
    return this._enqueue(to ? { message: text, to } : { message: text }, line);
  }

  /** Ask who is online. */
  who(line) {
    return this._enqueue({ command: "who" }, line);
  }

  /** Leave the room: BYE, and no reconnect. */
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
      this.nickname = null;
      this.view.nicknameRefused(refused, this.everJoined);
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
    const frame = this.everJoined
      ? JSON.stringify({ nickname: this.nickname, since: this.lastId, token: this.token })
      : this.nickname;
    this.socket.send(frame);
  }

  _ready() {
    const resumed = this.everJoined;
    this.everJoined = true;
    this.attempts = 0;
    this.idBeforeReplay = this.lastId;
    this._setState("online");
    this.view.joined(this.nickname);
    this.view.replayStarts(resumed);
  }

  _packet(packet) {
    if (typeof packet.event === "string") {
      this._notice(packet);
    } else if (typeof packet.message === "string") {
      this._chat(packet);
    }
  }

  _chat(packet) {
    if (Number.isInteger(packet.id)) {
      if (packet.id <= this.lastId) return; // shown already
      this.lastId = packet.id;
    }
    const mine = packet.nickname === this.nickname;
    if (mine) this._settleEcho(packet);
    this.view.chat(packet, mine);
  }

  /** Our own copy came back: the item in flight (or lost in a drop) was accepted. */
  _settleEcho(packet) {
    if (packet.history) {
      if (this.unsure && this.unsure.packet.message === packet.message) {
        this.outbox.splice(this.outbox.indexOf(this.unsure), 1);
        this.unsure = null;
        this._showWaiting();
      }
    } else if (this.inFlight && "message" in this.inFlight.packet) {
      this._settled(); // one item is in flight at a time, so this copy is its receipt
    }
  }

  _notice(packet) {
    switch (packet.event) {
      case "welcome":
        this._welcome(packet);
        return;
      case "join":
        this._setUsers([...this.names.filter((name) => name !== packet.user), packet.user]);
        break;
      case "leave":
        this._setUsers(this.names.filter((name) => name !== packet.user));
        break;
      case "who":
        this._setUsers(packet.users);
        if (this.inFlight && this.inFlight.packet.command === "who") this._settled();
        break;
      case "error":
        if (this.inFlight) {
          this._refused(packet);
          return;
        }
        break;
    }
    this.view.notice(packet);
  }

  _welcome(packet) {
    this.token = typeof packet.resume_token === "string" ? packet.resume_token : null;
    const firstId = Number.isInteger(packet.first_id) ? packet.first_id : 0;
    if (this.idBeforeReplay > 0 && firstId > this.idBeforeReplay + 1) {
      this.view.missed(firstId - this.idBeforeReplay - 1);
    }
    if (Number.isInteger(packet.last_id)) this.lastId = Math.max(this.lastId, packet.last_id);
    this.unsure = null; // the replay is over: what it did not show was not accepted
    this.welcomed = true;
    if (Array.isArray(packet.users)) this._setUsers(packet.users);
    this.view.notice(packet);
    this._sendNext();
  }

  _refused(packet) {
    if (packet.code === "rate-limited") {
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

  _enqueue(packet, line) {
    if (this.outbox.length >= MAX_WAITING) return false;
    this.outbox.push({ packet, line });
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

  _setUsers(names) {
    this.names = names.filter((name) => typeof name === "string");
    this.view.users(this.names);
  }

  _closed() {
    this.socket = null;
    this.welcomed = false;
    this.names = []; // who is online is unknown until the next welcome
    clearTimeout(this.pauseTimer);
    this.pauseTimer = null;
    this.pause = 0;
    if (this.inFlight) {
      // Maybe accepted before the drop: the replay after the rejoin tells.
      this.outbox.unshift(this.inFlight);
      this.unsure = this.inFlight;
      this.inFlight = null;
    }
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
