// What a person typed: a message, or one of the slash commands of the terminal client.

/** The help shown by /help. */
export const HELP = `Enter sends, Shift+Enter starts a new line.
  /msg NICK TEXT   send TEXT to NICK only (or click a name in the online list)
  /me TEXT         send "* yournick TEXT"
  /join #ROOM      join a room and switch to it (or click it in the room list)
  /part [#ROOM]    leave a room (this one without a name)
  /topic TEXT      set this room's topic (/topic alone shows it)
  /rooms           list the rooms on the server
  /who             list who is in this room
  /quit            leave
  /help            show this help
  //TEXT           send TEXT that starts with a slash`;

/** Commands that take no argument. */
const BARE = ["who", "rooms", "quit", "help"];

/**
 * What `line` asks for, typed by `nickname`: {kind: "say", text, to?}, {kind: "join", room},
 * {kind: "part", room?}, {kind: "topic", text?}, {kind: "who"}, {kind: "rooms"},
 * {kind: "quit"}, {kind: "help"}, {kind: "mistake", reason}; null for a blank line.
 */
export function parseCommand(line, nickname) {
  if (!line.trim()) return null;
  if (line.startsWith("//")) return { kind: "say", text: line.slice(1) };
  if (!line.startsWith("/")) return { kind: "say", text: line };
  const [, name, rest = ""] = /^\/(\S*)\s*([\s\S]*)$/u.exec(line);
  if (name === "msg") {
    const found = /^(\S+)\s+([\s\S]*\S[\s\S]*)$/u.exec(rest);
    if (!found) return { kind: "mistake", reason: "Usage: /msg NICK TEXT" };
    return { kind: "say", text: found[2], to: found[1] };
  }
  if (name === "me") {
    if (!rest.trim()) return { kind: "mistake", reason: "Usage: /me TEXT" };
    return { kind: "say", text: `* ${nickname} ${rest}` };
  }
  if (name === "join" || name === "part") return roomCommand(name, rest.trim());
  if (name === "topic") return rest.trim() ? { kind: name, text: rest.trim() } : { kind: name };
  if (!BARE.includes(name)) {
    return { kind: "mistake", reason: `Unknown command /${name}; /help lists the commands.` };
  }
  if (rest.trim()) return { kind: "mistake", reason: `/${name} takes no arguments.` };
  return { kind: name };
}

/** /join #ROOM (the room required) or /part [#ROOM]. */
function roomCommand(name, rest) {
  if (/\s/u.test(rest) || (name === "join" && !rest)) {
    return { kind: "mistake", reason: `Usage: /${name} ${name === "join" ? "#ROOM" : "[#ROOM]"}` };
  }
  return rest ? { kind: name, room: rest } : { kind: name };
}
