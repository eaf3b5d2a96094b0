// Builds the DOM for what the server sent. Every received string goes in as text
// (textContent or text nodes), never as markup; links are built element by element.

const LINK = /\bhttps?:\/\/[^\s<>"'`]+/giu;
const TRAILING_PUNCTUATION = /[.,;:!?)\]}'"]+$/u;

/** A new element with `className`, holding `parts` (strings become text nodes). */
export function element(tag, className, ...parts) {
  const made = document.createElement(tag);
  if (className) made.className = className;
  made.append(...parts);
  return made;
}

/** A nickname, isolated so that bidi controls in it cannot reorder what surrounds it. */
function nick(name) {
  return element("bdi", "nick", String(name));
}

/** `when` as 24-hour HH:MM in the browser's time zone, whatever clock its locale uses. */
function hoursMinutes(when) {
  const twoDigits = (number) => String(number).padStart(2, "0");
  return `${twoDigits(when.getHours())}:${twoDigits(when.getMinutes())}`;
}

/** `timestamp` (RFC 3339, UTC) as the local HH:MM, with the full local date as a tooltip. */
function time(timestamp) {
  const when = new Date(timestamp);
  const valid = !Number.isNaN(when.getTime());
  const shown = valid ? hoursMinutes(when) : "--:--";
  const made = element("time", "time", shown);
  if (valid) {
    made.dateTime = when.toISOString();
    made.title = when.toLocaleString();
  }
  return made;
}

/** Message text with http(s) addresses made into links (rel="noopener noreferrer"). */
function text(message) {
  const made = element("bdi", "text");
  made.dir = "auto";
  let at = 0;
  for (const found of message.matchAll(LINK)) {
    const address = found[0].replace(TRAILING_PUNCTUATION, "");
    const link = element("a", "", address);
    link.href = address;
    link.rel = "noopener noreferrer";
    link.target = "_blank";
    made.append(message.slice(at, found.index), link);
    at = found.index + address.length;
  }
  made.append(message.slice(at));
  return made;
}

/**
 * A "⋯" button titled `title` that opens a small menu of `actions` ({label, run}) below it;
 * choosing one closes the menu and runs it. The menu is built when opened and the button's
 * dots are drawn by the style sheet, so that a closed menu adds no text to its entry.
 */
export function actionMenu(title, actions) {
  const toggle = element("button", "menu-button");
  toggle.type = "button";
  toggle.title = title;
  toggle.setAttribute("aria-label", title);
  toggle.setAttribute("aria-haspopup", "menu");
  toggle.setAttribute("aria-expanded", "false");
  const holder = element("span", "menu-holder", toggle);
  const close = () => {
    holder.querySelector(".menu")?.remove();
    toggle.setAttribute("aria-expanded", "false");
  };
  toggle.addEventListener("click", () => {
    if (holder.querySelector(".menu")) {
      close();
      return;
    }
    const list = element("ul", "menu");
    list.setAttribute("role", "menu");
    for (const { label, run } of actions) {
      const item = element("button", "menu-item", label);
      item.type = "button";
      item.setAttribute("role", "menuitem");
      item.addEventListener("click", () => {
        close();
        run();
      });
      list.append(element("li", "", item));
    }
    holder.append(list);
    toggle.setAttribute("aria-expanded", "true");
    list.querySelector("button").focus();
  });
  return holder;
}

/**
 * A chat packet as a log entry; `earlier` marks replayed history; `onRedact` (for a message
 * with an id) is what its menu's "Remove message" does (the page's style shows the menu
 * on one's own messages, and on every message to an operator of the room).
 */
export function chatEntry(packet, { mine, earlier, onRedact = null }) {
  // "/me waves" arrives as "* alice waves": shown as the action it is.
  const action = `* ${packet.nickname} `;
  const isAction = packet.message.startsWith(action);
  const entry = element("li", "chat", time(packet.timestamp), isAction ? " * " : " ");
  entry.append(nick(packet.nickname));
  if (typeof packet.to === "string") {
    entry.classList.add("private");
    entry.append(" → ", nick(packet.to), element("span", "tag", " (private)"));
  }
  entry.append(isAction ? " " : ": ", text(isAction ? packet.message.slice(action.length) : packet.message));
  entry.classList.toggle("action", isAction);
  entry.classList.toggle("mine", mine);
  entry.classList.toggle("earlier", earlier);
  if (Number.isInteger(packet.id)) {
    entry.dataset.id = String(packet.id);
    if (onRedact) {
      const menu = actionMenu("Message actions", [{ label: "Remove message", run: onRedact }]);
      menu.classList.add("message-menu");
      entry.append(menu);
    }
  }
  return entry;
}

/** A line from the server or from this page; `kind` styles it (join, leave, error, ...). */
export function noticeEntry(message, kind, timestamp = new Date().toISOString()) {
  return element("li", `notice ${kind}`, time(timestamp), " ", element("span", "text", message));
}

/** A divider in the log, such as the start of the replayed history. */
export function dividerEntry(label) {
  return element("li", "divider", element("span", "", label));
}

/**
 * The online list: one button per name, which starts a private message to it; an operator
 * of the room is marked @, and `actions` ({label, run}), when given, are its member menu.
 */
export function userEntry(name, { isMe, operator, actions = null }, onPick) {
  const button = element("button", "user", nick(name));
  button.type = "button";
  button.title = `Send a private message to ${name}`;
  if (operator) {
    const mark = element("span", "op-mark", "@");
    mark.title = "operator of this room";
    button.prepend(mark);
  }
  if (isMe) button.append(element("span", "tag", " (you)"));
  button.addEventListener("click", () => onPick(name));
  const entry = element("li", "", button);
  if (actions) entry.append(actionMenu(`Moderate ${name}`, actions));
  return entry;
}

/**
 * A room the session is in, for the room list: a button that shows it, with how many
 * messages came there unread; `current` marks the room shown.
 */
export function joinedRoomEntry(label, { current, unread }, onPick) {
  const button = element("button", "room-button", element("bdi", "room-name", label));
  button.type = "button";
  if (current) button.setAttribute("aria-current", "true");
  if (unread > 0) {
    const count = element("span", "unread", String(unread));
    count.title = `${unread} unread`;
    button.append(" ", count);
  }
  button.addEventListener("click", onPick);
  return element("li", "", button);
}

/** A room of the server's list the session is not in: a button that joins it. */
export function otherRoomEntry({ room, users, topic }, onPick) {
  const button = element("button", "room-button", element("bdi", "room-name", room));
  button.type = "button";
  button.append(" ", element("span", "tag", `(${users})`));
  button.title = topic ? `Join ${room}: ${topic}` : `Join ${room}`;
  button.addEventListener("click", onPick);
  return element("li", "", button);
}
