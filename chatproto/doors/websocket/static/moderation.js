// Moderation without any DOM (docs/protocol.md section 14): the commands an operator (or a
// member, for its own messages) sends, and which notice is the receipt of each.

/** The moderation commands, each answered by its receipt (below) or an error. */
export const MODERATION_COMMANDS = new Set([
  "kick", "mute", "unmute", "ban", "unban", "bans", "redact", "op", "deop", "voice", "devoice",
  "topic-lock", "moderated", "announce",
]);

/** How long a mute from the member menu lasts, in seconds. */
export const MENU_MUTE_SECONDS = 600;

/** The key two spellings of a nickname share, as near as a browser can compute it. */
export function nicknameKey(name) {
  return String(name).normalize("NFKC").toLowerCase().normalize("NFKC");
}

/**
 * Whether the notice `packet` is the receipt of the moderation command `asked` (a packet
 * sent by `nickname`): its own `moderation` notice, the `leave` of the member it kicked,
 * the `redact` of its message, the `bans` list, its `announce`.
 */
export function isReceipt(asked, packet, nickname) {
  if (!MODERATION_COMMANDS.has(asked?.command)) return false;
  if (asked.command === "bans") return packet.event === "bans";
  if (typeof packet.by !== "string" || nicknameKey(packet.by) !== nicknameKey(nickname)) {
    return false;
  }
  switch (asked.command) {
    case "kick":
      return packet.event === "leave" && packet.reason === "kicked" &&
        nicknameKey(packet.user) === nicknameKey(asked.user);
    case "redact":
      return packet.event === "redact" && packet.id === asked.id;
    case "announce":
      return packet.event === "announce";
    default:
      return packet.event === "moderation" && packet.action === asked.command;
  }
}

/** The operators a `welcome` or `who` lists (strings only). */
export function operatorsListed(packet) {
  return Array.isArray(packet.operators)
    ? packet.operators.filter((name) => typeof name === "string")
    : [];
}

/** `operators` after the notice `packet` (an op, a deop or a leave). */
export function operatorsAfter(operators, packet) {
  const user = typeof packet.user === "string" ? packet.user : null;
  if (user === null) return operators;
  const others = operators.filter((name) => nicknameKey(name) !== nicknameKey(user));
  const opped = packet.event === "moderation" && packet.action === "op";
  return opped ? [...others, user] : others;
}
