// Rooms without any DOM (docs/protocol.md section 12): room names, their keys, and what a
// session knows of each room it is in.

/** The key of the default room: the room of every packet that names none. */
export const DEFAULT_ROOM = "";

/** How many messages one scrollback request asks for (the server allows 1-100). */
export const OLDER_BATCH = 50;

/** How many messages one catch-up request asks for: the most the server sends at once. */
export const CATCH_UP_BATCH = 100;

/** How many rooms of the server's list are asked whether they are the default room. */
export const MAX_NAME_PROBES = 3;

/** How many rooms of the server's list are kept (the server sends at most 1000). */
export const MAX_LISTED_ROOMS = 1000;

/**
 * The key two spellings of a room name share, as near as a browser can compute the
 * server's NFKC(casefold(NFKC(name))): "#Rust" and "#ｒｕｓｔ" are the same room.
 */
export function roomKey(name) {
  return name.normalize("NFKC").toLowerCase().normalize("NFKC");
}

/**
 * What the session knows of one room: its display name, whether it is in it ("joining"
 * until the welcome, "in", "rejoining" after a lost connection), the ids it has shown (the
 * newest for resume and dedupe, the oldest for scrollback), who is there and the topic.
 */
export class RoomState {
  constructor(name) {
    this.name = name; // the server's display name; null for the default room until known
    this.status = "joining";
    this.lastId = 0; // newest id shown; a later packet with an id <= this is a duplicate
    this.oldestId = 0; // oldest id shown (0: none yet)
    this.firstId = 0; // oldest id the server still keeps (0: none)
    this.idBeforeReplay = 0;
    this.users = [];
    this.operators = []; // those among `users` who operate the room (section 14)
    this.topic = "";
    this.loadingOlder = false;
    this.olderDone = false; // the server has nothing older than what is shown
  }

  /** Note that the message `id` is shown. */
  saw(id) {
    this.lastId = Math.max(this.lastId, id);
    this.oldestId = this.oldestId ? Math.min(this.oldestId, id) : id;
  }

  /** The id scrollback asks for messages before. */
  get olderBefore() {
    return this.oldestId || this.lastId + 1;
  }

  /** Whether the server keeps messages older than those shown, as far as is known. */
  keepsOlder() {
    return !this.olderDone && this.firstId > 0 && this.olderBefore > this.firstId;
  }

  /** Whether older messages can be asked for now (kept, and none on their way). */
  canLoadOlder() {
    return this.status === "in" && !this.loadingOlder && this.keepsOlder();
  }
}
