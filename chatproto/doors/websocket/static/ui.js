// The page: the nickname form, the log, the online list and the input, driven by a
// ChatSession (protocol.js). It never reads or writes markup, only elements and text.

import { HELP, parseCommand } from "./commands.js";
import { ChatSession, chatUrl, nicknameProblem } from "./protocol.js";
import { chatEntry, dividerEntry, element, noticeEntry, userEntry } from "./render.js";

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
};

const $ = (id) => document.getElementById(id);
const page = {
  join: $("join"),
  nick: $("nick"),
  joinNote: $("join-note"),
  chat: $("chat"),
  log: $("log"),
  pending: $("pending"),
  jump: $("jump"),
  users: $("users"),
  onlineTitle: $("online-title"),
  compose: $("compose"),
  input: $("input"),
  inputNote: $("input-note"),
  status: $("status"),
  statusText: $("status-text"),
  reconnect: $("reconnect"),
  rejoin: $("rejoin"),
};

// While the replay runs: the divider to show before its first message, then true once shown.
let replay = null;
let resumed = false; // the last join was a rejoin after a lost connection
// The reader is at the log's bottom: new messages and a resize keep them there.
let following = true;
let countdown = null; // the timer that updates the reconnect countdown in the header

function logAtBottom() {
  const log = page.log;
  return log.scrollHeight - log.scrollTop - log.clientHeight <= AT_BOTTOM_SLACK;
}

function scrollToNewest() {
  page.log.scrollTop = page.log.scrollHeight;
}

/** Append `entry` to the log, following it only if the reader was at the bottom. */
function show(entry) {
  following = logAtBottom();
  page.log.append(entry);
  if (following) scrollToNewest();
  else page.jump.hidden = false;
}

function remark(message, kind = "remark") {
  show(noticeEntry(message, kind));
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
  page.users.replaceChildren(
    ...names.map((name) => userEntry(name, name === session.nickname, startPrivate)),
  );
}

const online = (users) => {
  const names = Array.isArray(users) ? users.map(String) : [];
  return `Online (${names.length}): ${names.join(", ")}`;
};
const LEAVE_REASONS = { disconnected: "connection lost", slow: "too slow", flood: "flooding" };

/** What a notice says, for the events whose fields say more than its message. */
const NOTICE_TEXT = {
  welcome: (packet) => `${resumed ? "Back online." : "Welcome!"} ${online(packet.users)}`,
  who: (packet) => online(packet.users),
  leave: (packet) => {
    const why = LEAVE_REASONS[packet.reason];
    return why ? `${packet.user} left (${why})` : `${packet.user} left`;
  },
};
const NOTICE_KIND = { welcome: "welcome", who: "who", join: "join", leave: "leave",
  error: "error", shutdown: "error" };

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
    page.compose.classList.toggle("offline", state === "offline");
    if (state === "left") remark("You left the chat.");
  },

  nicknameRefused(nickname, resumed) {
    const why = resumed
      ? `The nickname ${nickname} was taken while you were away; choose another.`
      : `The nickname ${nickname} is taken; choose another.`;
    askNickname(why);
    showStatus(session.state); // the nickname is no longer on its way
  },

  joined(nickname) {
    localStorage.setItem(NICK_KEY, nickname);
    page.join.hidden = true;
    page.chat.hidden = false;
    page.input.focus();
  },

  replayStarts(rejoined) {
    resumed = rejoined;
    replay = rejoined ? "While you were away" : "Earlier messages";
  },

  chat(packet, mine) {
    const earlier = replay !== null && packet.history === true;
    if (earlier && replay !== true) {
      show(dividerEntry(replay));
      replay = true;
    }
    show(chatEntry(packet, { mine, earlier }));
  },

  notice(packet) {
    if (packet.event === "welcome") {
      if (replay === true) show(dividerEntry("Now"));
      replay = null;
    }
    const shown = NOTICE_TEXT[packet.event]?.(packet) ?? String(packet.message ?? "");
    show(noticeEntry(shown, NOTICE_KIND[packet.event] ?? "other", packet.timestamp));
  },

  missed(count) {
    remark(`${count} messages were sent while you were away and are no longer kept.`, "error");
  },

  users(names) {
    showUsers(names);
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
    giveBack(item.line);
    const refusal = Object.hasOwn(REFUSALS, packet.code)
      ? REFUSALS[packet.code](item, packet)
      : String(packet.message ?? packet.code);
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

function submitInput() {
  const line = page.input.value;
  const command = parseCommand(line, session.nickname);
  if (!command) return;
  if (command.kind === "mistake") {
    setInputNote(command.reason, "error");
    return;
  }
  let accepted = true;
  if (command.kind === "say") accepted = session.say(command.text, command.to, line);
  else if (command.kind === "who") accepted = session.who(line);
  else if (command.kind === "help") remark(HELP, "help");
  else if (command.kind === "quit") session.quit();
  if (!accepted) {
    setInputNote("Too many messages are waiting to be sent; try again in a moment.", "error");
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
  session.join(page.nick.value);
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
window.addEventListener("online", () => session.reconnectNow()); // the network is back: try now
page.rejoin.addEventListener("click", () => session.join(session.nickname));

page.nick.value = localStorage.getItem(NICK_KEY) ?? "";
