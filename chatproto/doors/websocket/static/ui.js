// The page: the nickname form, the room list, one room's log and topic, the online list
// and the input, driven by a ChatSession (protocol.js). It never reads or writes markup,
// only elements and text.

import { HELP, parseCommand } from "./commands.js";
import { MENU_MUTE_SECONDS, nicknameKey } from "./moderation.js";
import { ChatSession, chatUrl, nicknameProblem } from "./protocol.js";
import {
  chatEntry,
  dividerEntry,
  element,
  joinedRoomEntry,
  noticeEntry,
  otherRoomEntry,
  userEntry,
} from "./render.js";
import { DEFAULT_ROOM } from "./rooms.js";

const NICK_KEY = "chatproto.nickname";
const AT_BOTTOM_SLACK = 8; // pixels: "at the bottom" despite rounding

/** The size the server limits a message by: its UTF-8 bytes. */
const utf8Bytes = (text) => new TextEncoder().encode(text).length;

/** What an error notice means for the item it refused, by code. */
const REFUSALS = {
  // The server's message names its limit (--max-message-bytes); only the server knows it.
  "too-long": (item, packet) =>
    `Too long for the server: ${packet.message} (this one has ${utf8Bytes(item.packet.message)}).` +
    " Shorten it and send again.",
  empty: () => "Nothing to send: the message is empty.",
  "control-chars": () => "The message contains control characters the server does not accept.",
  unavailable: () => "The server could not store the message, so nobody saw it. Send it again.",
  "no-such-user": () => "Nobody with that nickname is online.",
  "not-in-room": () => "You are not in that room: /join it first.",
  "bad-room": () =>
    "That is not a room name: # and 1 to 32 characters, without spaces or ! @ , * ? :.",
  "too-many-rooms": (item, packet) => `No more rooms: ${packet.message}`,
  "not-permitted": (item, packet) => `Not allowed: ${packet.message}`,
  // Muted, or not voiced in a moderated room: the server's message says which.
  muted: (item, packet) => {
    const left = Number(packet.retry_after) > 0 ? ` (${Math.ceil(packet.retry_after)} s more)` : "";
    return `${packet.message}${left}: nobody saw the message.`;
  },
  banned: (item, packet) => `You are banned from ${packet.room ?? "this room"}.`,
};

const $ = (id) => document.getElementById(id);
const page = {
  join: $("join"),
  nick: $("nick"),
  joinNote: $("join-note"),
  chat: $("chat"),
  log: $("log"),
  topic: $("topic"),
  roomList: $("room-list"),
  otherRooms: $("other-rooms"),
  otherTitle: $("other-title"),
  listRooms: $("list-rooms"),
  pending: $("pending"),
  jump: $("jump"),
  users: $("users"),
  onlineTitle: $("online-title"),
  compose: $("compose"),
  input: $("input"),
  inputNote: $("input-note"),
  announcement: $("announcement"),
  announcementText: $("announcement-text"),
  announcementClose: $("announcement-close"),
  status: $("status"),
  statusText: $("status-text"),
  reconnect: $("reconnect"),
  rejoin: $("rejoin"),
  password: $("password"),
  passwordLabel: document.querySelector("label.password"),
  register: $("register"),
  registerForm: $("register-form"),
  newPassword: $("new-password"),
  registerCancel: $("register-cancel"),
};

/** What the page keeps of one room's log, shown or not, and how it was being read. */
class RoomView {
  constructor() {
    this.entries = []; // the log's entries, in order; in the page only for the room shown
    // While a replay runs: the divider to show before its first message, then true once shown.
    this.replay = "Earlier messages";
    this.resumed = false; // the last join was a rejoin after a lost connection
    this.following = true;
    this.scrollTop = 0;
    this.unread = 0; // messages that came while another room was shown
    this.olderEnd = false; // the start of the kept history is marked
  }
}

const views = new Map(); // room key -> RoomView
let current = DEFAULT_ROOM; // the room shown
// The reader is at the log's bottom: new messages and a resize keep them there.
let following = true;
let countdown = null; // the timer that updates the reconnect countdown in the header

function viewOf(room) {
  if (!views.has(room)) views.set(room, new RoomView());
  return views.get(room);
}

/** A room's name as the page shows it; the default room's is known once a join named it. */
function roomLabel(room) {
  return session.rooms.get(room)?.name ?? (room === DEFAULT_ROOM ? "main room" : room);
}

function logAtBottom() {
  const log = page.log;
  return log.scrollHeight - log.scrollTop - log.clientHeight <= AT_BOTTOM_SLACK;
}

function scrollToNewest() {
  page.log.scrollTop = page.log.scrollHeight;
}

/**
 * Append `entry` to `room`'s log; in the room shown, follow it only if the reader was at the
 * bottom.
 */
function show(entry, room = current) {
  viewOf(room).entries.push(entry);
  if (room !== current) return;
  following = logAtBottom();
  page.log.append(entry);
  if (following) scrollToNewest();
  else page.jump.hidden = false;
}

function remark(message, kind = "remark", room = current) {
  show(noticeEntry(message, kind), room);
}

/** Show `room`'s log, topic and people instead of the current room's. */
function switchTo(room) {
  if (room !== current) {
    const leaving = views.get(current);
    if (leaving) Object.assign(leaving, { following, scrollTop: page.log.scrollTop });
    current = room;
    const view = viewOf(room);
    page.log.replaceChildren(...view.entries);
    following = view.following;
    if (following) scrollToNewest();
    else page.log.scrollTop = view.scrollTop;
    page.jump.hidden = true;
  }
  viewOf(room).unread = 0;
  showUsers(session.rooms.get(room)?.users ?? []);
  showOperating();
  showRooms();
  loadOlderAtTop();
}

/** Scrolled to the top of the log (or the log does not fill its box): ask for older messages. */
function loadOlderAtTop() {
  if (!page.chat.hidden && page.log.scrollTop <= 0) session.loadOlder(current);
}

/** The room list (joined rooms first, then the server's other rooms) and the topic line. */
function showRooms() {
  const joined = [...session.rooms].filter(([, state]) => state.status !== "joining");
  page.roomList.replaceChildren(
    ...joined.map(([room]) =>
      joinedRoomEntry(
        roomLabel(room),
        { current: room === current, unread: viewOf(room).unread },
        () => switchTo(room),
      ),
    ),
  );
  const joinedKeys = new Set(joined.map(([room]) => room));
  const others = session.roomList.filter((entry) => !joinedKeys.has(session.keyOf(entry.room)));
  page.otherRooms.replaceChildren(
    ...others.map((entry) => otherRoomEntry(entry, () => joinRoom(entry.room))),
  );
  page.otherTitle.hidden = others.length === 0;
  const topic = session.rooms.get(current)?.topic ?? "";
  page.topic.replaceChildren(
    element("bdi", "room-name", roomLabel(current)),
    topic ? ": " : "",
    topic
      ? element("bdi", "text", topic)
      : element("span", "tag", " (no topic; /topic TEXT sets one)"),
  );
}

function joinRoom(name) {
  if (!session.joinRoom(name, `/join ${name}`)) tooManyWaiting();
}

function tooManyWaiting() {
  setInputNote("Too many messages are waiting to be sent; try again in a moment.", "error");
}

function setInputNote(message, kind = "") {
  page.inputNote.textContent = message;
  page.inputNote.className = `note ${kind}`;
}

/** Put `line` back into the input (before anything typed since), so nothing is lost. */
function giveBack(line) {
  const typed = page.input.value;
  page.input.value = typed ? `${line}\n${typed}` : line;
  fitInput();
}

function fitInput() {
  page.input.rows = Math.min(6, page.input.value.split("\n").length);
}

/** Show (or hide) the password field of the nickname form, empty. */
function showPassword(shown) {
  page.password.value = "";
  page.password.hidden = !shown;
  page.passwordLabel.hidden = !shown;
}

/** The nickname is registered (or the password was wrong): ask for its password. */
function askPassword(required, retryAfter, nickname) {
  const wait = retryAfter > 0 ? ` Too many tries: wait ${Math.ceil(retryAfter)} s.` : "";
  askNickname(
    required
      ? `${nickname} is registered: type its password, or choose another nickname.`
      : `Wrong password.${wait}`,
  );
  showPassword(true);
  page.password.focus();
}

/** Offer to register the nickname held, unless it is logged in to an account. */
function offerRegistering() {
  page.register.hidden = session.state !== "online" || session.account !== null;
  if (!page.register.hidden) return;
  page.registerForm.hidden = true;
}

function askNickname(note) {
  page.join.hidden = false;
  page.joinNote.textContent = note;
  page.nick.focus();
  page.nick.select();
}

/** What the header says in each state of the session (seconds: until the next try). */
const STATUS_TEXT = {
  connecting: () => "Connecting…",
  choosing: () => (session.nickname ? `Joining as ${session.nickname}…` : "Choose a nickname"),
  online: () => `Connected as ${session.nickname}`,
  offline: (seconds) => `Offline: reconnecting in ${seconds} s`,
  left: () => "You left the chat",
};

/**
 * Say `state` in the header; offline, count the whole seconds down until the next try at
 * `retryAt` (ms, the clock of Date.now), updating as each second passes.
 */
function showStatus(state, retryAt = 0) {
  clearTimeout(countdown);
  const left = retryAt - Date.now();
  const seconds = Math.max(1, Math.ceil(left / 1000));
  page.statusText.textContent = STATUS_TEXT[state](seconds);
  if (state === "offline" && seconds > 1) {
    countdown = setTimeout(() => showStatus(state, retryAt), left - (seconds - 1) * 1000);
  }
}

/** The online list and its title; while not online nobody is known to be online. */
function showUsers(names) {
  const connected = session.state === "online";
  page.onlineTitle.textContent = connected ? `Online (${names.length})` : "Online: not connected";
  const operators = new Set((session.rooms.get(current)?.operators ?? []).map(nicknameKey));
  const operating = session.operates(current);
  page.users.replaceChildren(
    ...names.map((name) => {
      const isMe = name === session.nickname;
      const operator = operators.has(nicknameKey(name));
      const actions = operating && !isMe ? memberActions(name, operator) : null;
      return userEntry(name, { isMe, operator, actions }, startPrivate);
    }),
  );
}

/** What an operator of the room shown may do to the member `name` (its menu). */
function memberActions(name, operator) {
  const room = current;
  const act = (command, fields) => () => {
    if (!session.moderate(command, { user: name, ...fields }, room)) tooManyWaiting();
  };
  return [
    { label: "Kick", run: act("kick", {}) },
    { label: `Mute for ${MENU_MUTE_SECONDS / 60} minutes`, run: act("mute", { seconds: MENU_MUTE_SECONDS }) },
    { label: "Unmute", run: act("unmute", {}) },
    {
      label: "Ban",
      run: () => {
        if (!session.moderate("ban", { mask: name }, room)) tooManyWaiting();
      },
    },
    operator
      ? { label: "Remove operator", run: act("deop", {}) }
      : { label: "Make operator", run: act("op", {}) },
  ];
}

/** The log shows the remove menu on every message when this session operates the room. */
function showOperating() {
  page.log.classList.toggle("operating", session.operates(current));
}

/** Redact message `id` of `room` (the menu of a message). */
function redact(room, id) {
  if (!session.moderate("redact", { id }, room)) tooManyWaiting();
}

const online = (users) => {
  const names = Array.isArray(users) ? users.map(String) : [];
  return `Online (${names.length}): ${names.join(", ")}`;
};
const LEAVE_REASONS = { disconnected: "connection lost", slow: "too slow", flood: "flooding" };
/** How an operator's removal of a member is said. */
const REMOVALS = { kicked: "was kicked by", banned: "was banned by" };
/** How each `moderation` action is said, between who did it and to whom. */
const ACTIONS = { mute: "muted", unmute: "unmuted", ban: "banned", unban: "lifted the ban on",
  op: "made an operator:", deop: "took operator status from", voice: "gave a voice to",
  devoice: "took the voice of" };
/** How the switches are said, off and on. */
const SWITCHES = {
  "topic-lock": ["unlocked the topic", "locked the topic (only operators set it)"],
  moderated: ["made the room unmoderated", "made the room moderated (only operators and voiced members speak)"],
};

/** Who did it, as a notice's `by` says (a hostile or odd server may leave it out). */
const byWhom = (packet) => (typeof packet.by === "string" ? packet.by : "an operator");

/** ": comment" when the notice has one. */
const commented = (packet) => (typeof packet.comment === "string" && packet.comment ? `: ${packet.comment}` : "");

/** A `moderation` notice, in words. */
function moderationText(packet) {
  const by = byWhom(packet);
  if (Object.hasOwn(SWITCHES, packet.action)) return `${by} ${SWITCHES[packet.action][packet.on === true ? 1 : 0]}`;
  const target = packet.user ?? packet.mask;
  if (!Object.hasOwn(ACTIONS, packet.action) || typeof target !== "string") {
    return String(packet.message ?? "");
  }
  const seconds = Number.isInteger(packet.seconds) ? ` for ${packet.seconds} s` : "";
  return `${by} ${ACTIONS[packet.action]} ${target}${seconds}${commented(packet)}`;
}

/** A `bans` notice, in words. */
function bansText(packet) {
  const bans = Array.isArray(packet.bans) ? packet.bans.filter((ban) => typeof ban?.mask === "string") : [];
  if (bans.length === 0) return "No bans.";
  const said = bans.map((ban) => {
    const until = ban.until ? ` until ${new Date(ban.until).toLocaleString()}` : "";
    return `${ban.mask} (by ${byWhom(ban)}${until})${commented(ban)}`;
  });
  return `Bans (${bans.length}): ${said.join("; ")}`;
}

/** The welcome of `room`: first, or back after a lost connection. */
function welcomeText(packet, room) {
  const back = viewOf(room).resumed;
  const hello = room === DEFAULT_ROOM
    ? (back ? "Back online." : "Welcome!")
    : (back ? `Back in ${packet.room}.` : `Welcome to ${packet.room}!`);
  return `${hello} ${online(packet.users)}`;
}

/** What a notice says, for the events whose fields say more than its message. */
const NOTICE_TEXT = {
  welcome: welcomeText,
  who: (packet) => online(packet.users),
  leave: (packet) => {
    if (packet.reason === "part") return `${packet.user} left the room`;
    if (Object.hasOwn(REMOVALS, packet.reason)) {
      return `${packet.user} ${REMOVALS[packet.reason]} ${byWhom(packet)}${commented(packet)}`;
    }
    const why = LEAVE_REASONS[packet.reason];
    return why ? `${packet.user} left (${why})` : `${packet.user} left`;
  },
  topic: (packet) =>
    packet.topic
      ? `${packet.user} set the topic: ${packet.topic}`
      : `${packet.user} cleared the topic`,
  rooms: () =>
    `Rooms: ${session.roomList.map((entry) => `${entry.room} (${entry.users})`).join(", ")}`,
  moderation: moderationText,
  redact: (packet) => `${byWhom(packet)} removed a message${commented(packet)}`,
  bans: bansText,
  announce: (packet) => `Announcement from ${byWhom(packet)}: ${packet.message}`,
};
const NOTICE_KIND = { welcome: "welcome", who: "who", join: "join", leave: "leave",
  error: "error", shutdown: "error", topic: "topic", moderation: "moderation",
  redact: "moderation", bans: "who", announce: "announce" };

const view = {
  status(state, seconds) {
    if (state === "offline" && page.status.dataset.state === "online") {
      remark("Connection lost.", "error");
    }
    page.status.dataset.state = state;
    showStatus(state, Date.now() + seconds * 1000);
    if (state !== "online") showUsers([]);
    page.reconnect.hidden = state !== "offline";
    page.rejoin.hidden = state !== "left";
    offerRegistering();
    page.compose.classList.toggle("offline", state === "offline");
    if (state === "left") remark("You left the chat.");
  },

  nicknameRefused(nickname, resumed, refusal) {
    const code = refusal?.code;
    if (code === "account-required" || code === "auth-failed") {
      page.nick.value = nickname;
      askPassword(code === "account-required", Number(refusal.retry_after) || 0, nickname);
    } else {
      const why = resumed
        ? `The nickname ${nickname} was taken while you were away; choose another.`
        : `The nickname ${nickname} is taken; choose another.`;
      askNickname(refusal ? String(refusal.message ?? refusal.code) : why);
    }
    showStatus(session.state); // the nickname is no longer on its way
  },

  joined(nickname) {
    localStorage.setItem(NICK_KEY, nickname); // the nickname only: never the password
    showPassword(false);
    page.join.hidden = true;
    page.chat.hidden = false;
    page.input.focus();
  },

  replayStarts(room, rejoined) {
    const view = viewOf(room);
    view.resumed = rejoined;
    view.replay = rejoined ? "While you were away" : "Earlier messages";
  },

  chat(packet, mine, room) {
    const shownIn = room ?? current; // a private message belongs to no room: the one shown
    const view = viewOf(shownIn);
    const earlier = view.replay !== null && packet.history === true;
    if (earlier && view.replay !== true) {
      show(dividerEntry(view.replay), shownIn);
      view.replay = true;
    }
    const onRedact = room === null ? null : () => redact(room, packet.id);
    show(chatEntry(packet, { mine, earlier, onRedact }), shownIn);
    if (shownIn !== current && !mine && packet.history !== true) {
      view.unread += 1;
      showRooms();
    }
  },

  older(room, packets) {
    const view = viewOf(room);
    const entries = packets.map((packet) =>
      chatEntry(packet, {
        mine: packet.nickname === session.nickname,
        earlier: true,
        onRedact: () => redact(room, packet.id),
      }),
    );
    if (!session.rooms.get(room)?.keepsOlder() && !view.olderEnd) {
      entries.unshift(dividerEntry("The start of the kept history"));
      view.olderEnd = true;
    }
    view.entries.unshift(...entries);
    if (room !== current) return;
    const height = page.log.scrollHeight;
    page.log.prepend(...entries);
    page.log.scrollTop += page.log.scrollHeight - height; // what was read stays in view
    loadOlderAtTop();
  },

  notice(packet, room) {
    if (packet.event === "welcome" || packet.event === "registered") offerRegistering();
    const shownIn = room ?? current;
    const view = viewOf(shownIn);
    if (packet.event === "welcome") {
      if (view.replay === true) show(dividerEntry("Now"), shownIn);
      view.replay = null;
    }
    const describe = NOTICE_TEXT[packet.event];
    const shown = describe ? describe(packet, shownIn) : String(packet.message ?? "");
    show(noticeEntry(shown, NOTICE_KIND[packet.event] ?? "other", packet.timestamp), shownIn);
    if (packet.event === "announce") {
      page.announcementText.textContent = shown;
      page.announcement.hidden = false;
    }
  },

  redacted(room, id) {
    const view = viewOf(room);
    const gone = view.entries.filter((entry) => entry.dataset.id === String(id) && entry.classList.contains("chat"));
    view.entries = view.entries.filter((entry) => !gone.includes(entry));
    for (const entry of gone) entry.remove();
  },

  entered(room, asked) {
    if (asked) switchTo(room);
    else showRooms();
    if (room === current) loadOlderAtTop();
  },

  left(room, name, packet) {
    views.delete(room);
    if (room === current) {
      const next = [...session.rooms.keys()][0] ?? DEFAULT_ROOM;
      current = null; // the log shown is gone: switchTo shows the next one from scratch
      switchTo(next);
    }
    const where = name ?? "the room";
    if (Object.hasOwn(REMOVALS, packet?.reason)) {
      const how = packet.reason === "kicked" ? "kicked out of" : "banned from";
      remark(`You were ${how} ${where} by ${byWhom(packet)}${commented(packet)}.`, "error");
    } else {
      remark(`You left ${where}.`);
    }
  },

  roomsChanged() {
    showRooms();
  },

  roomList() {
    showRooms();
  },

  missed(room, count) {
    const lost = `${count} messages were sent while you were away and are no longer kept.`;
    remark(lost, "error", room);
  },

  users(room, names) {
    if (room !== current) return;
    showUsers(names);
    showOperating();
  },

  waiting(items, pause) {
    page.pending.replaceChildren(
      ...items
        .filter((item) => "message" in item.packet)
        .map((item) => element("li", "", element("span", "tag", "waiting: "), item.line)),
    );
    if (pause > 0) {
      setInputNote(`The server asked to slow down: sending again in ${pause.toFixed(1)} s.`, "pacing");
    } else if (page.inputNote.classList.contains("pacing")) {
      setInputNote("");
    }
  },

  refused(item, packet) {
    const refusal = Object.hasOwn(REFUSALS, packet.code)
      ? REFUSALS[packet.code](item, packet)
      : String(packet.message ?? packet.code);
    if (item.line === null) {
      // Asked by the page itself (a rejoin, scrollback): nothing typed to give back.
      const about = item.packet.room ? ` (${item.packet.room})` : "";
      setInputNote(`${refusal}${about}`, "error");
      return;
    }
    giveBack(item.line);
    setInputNote(refusal, "error");
    page.input.focus();
  },
};

const session = new ChatSession(chatUrl(window.location), view);

function startPrivate(name) {
  const typed = page.input.value.replace(/^\/msg\s+\S+\s*/u, "");
  page.input.value = `/msg ${name} ${typed}`;
  page.input.focus();
  page.input.setSelectionRange(page.input.value.length, page.input.value.length);
}

/** The current room's topic, in its log. */
function remarkTopic() {
  const topic = session.rooms.get(current)?.topic;
  remark(topic ? `Topic: ${topic}` : `${roomLabel(current)} has no topic.`, "topic");
  return true;
}

/**
 * What each kind of typed command does (commands.js parses them); false when the session
 * has too much waiting to take it.
 */
const COMMANDS = {
  say: (command, line) => session.say(command.text, command.to, line, current),
  who: (command, line) => session.who(line, current),
  join: (command, line) => session.joinRoom(command.room, line),
  part: (command, line) =>
    session.partRoom(command.room ? session.keyOf(command.room) : current, line),
  topic: (command, line) =>
    command.text ? session.setTopic(current, command.text, line) : remarkTopic(),
  rooms: (command, line) => session.listRooms(line),
  moderate: (command, line) => session.moderate(command.command, command.fields, current, line),
  help: () => {
    remark(HELP, "help");
    return true;
  },
  quit: () => {
    session.quit();
    return true;
  },
};

function submitInput() {
  const line = page.input.value;
  const command = parseCommand(line, session.nickname);
  if (!command) return;
  if (command.kind === "mistake") {
    setInputNote(command.reason, "error");
    return;
  }
  if (!COMMANDS[command.kind](command, line)) {
    tooManyWaiting();
    return;
  }
  page.input.value = "";
  fitInput();
  if (page.inputNote.classList.contains("error")) setInputNote(""); // a pacing note stays
}

page.join.addEventListener("submit", (event) => {
  event.preventDefault();
  const problem = nicknameProblem(page.nick.value);
  if (problem) {
    page.joinNote.textContent = problem;
    return;
  }
  page.joinNote.textContent = "";
  const password = page.password.hidden || !page.password.value ? null : page.password.value;
  page.password.value = ""; // kept by the session until READY only
  session.join(page.nick.value, password);
});

page.register.addEventListener("click", () => {
  page.registerForm.hidden = false;
  page.newPassword.focus();
});
page.registerCancel.addEventListener("click", () => {
  page.newPassword.value = "";
  page.registerForm.hidden = true;
});
page.registerForm.addEventListener("submit", (event) => {
  event.preventDefault();
  const password = page.newPassword.value;
  page.newPassword.value = "";
  page.registerForm.hidden = true;
  if (!session.register(password)) tooManyWaiting();
});

page.compose.addEventListener("submit", (event) => {
  event.preventDefault();
  submitInput();
});

page.input.addEventListener("keydown", (event) => {
  if (event.key === "Enter" && !event.shiftKey && !event.isComposing) {
    event.preventDefault();
    submitInput();
  }
});
page.input.addEventListener("input", fitInput);

page.log.addEventListener("scroll", () => {
  following = logAtBottom();
  if (following) page.jump.hidden = true;
  loadOlderAtTop();
});
page.listRooms.addEventListener("click", () => {
  if (!session.listRooms()) tooManyWaiting();
});
// A resize (window, phone rotation, the waiting list) reflows the log: keep the newest
// message in view for a reader who was at the bottom, instead of leaving them mid-scroll.
new ResizeObserver(() => {
  if (following) scrollToNewest();
}).observe(page.log);
page.jump.addEventListener("click", () => {
  scrollToNewest();
  page.jump.hidden = true;
  page.input.focus();
});
page.reconnect.addEventListener("click", () => session.reconnectNow());
page.announcementClose.addEventListener("click", () => {
  page.announcement.hidden = true;
});
window.addEventListener("online", () => session.reconnectNow()); // the network is back: try now
page.rejoin.addEventListener("click", () => session.join(session.nickname));

page.nick.value = localStorage.getItem(NICK_KEY) ?? "";
