// The web client's typed commands (commands.js): the moderation commands of
// docs/protocol.md section 14. Run by test_session_js.py (node --test).

import assert from "node:assert/strict";
import { test } from "node:test";

import { parseCommand } from "../../chatproto/doors/websocket/static/commands.js";

const moderate = (command, fields) => ({ kind: "moderate", command, fields });

test("moderation commands become their packets' fields", () => {
  const cases = [
    ["/kick bob", moderate("kick", { user: "bob" })],
    ["/kick bob stop  that", moderate("kick", { user: "bob", comment: "stop that" })],
    ["/mute bob", moderate("mute", { user: "bob" })],
    ["/mute bob 60", moderate("mute", { user: "bob", seconds: 60 })],
    ["/unmute bob", moderate("unmute", { user: "bob" })],
    ["/ban 10.0.0.0/8", moderate("ban", { mask: "10.0.0.0/8" })],
    ["/ban bob 600 spam here", moderate("ban", { mask: "bob", seconds: 600, comment: "spam here" })],
    ["/ban account:bob go", moderate("ban", { mask: "account:bob", comment: "go" })],
    ["/unban bob", moderate("unban", { mask: "bob" })],
    ["/bans", moderate("bans", {})],
    ["/op bob", moderate("op", { user: "bob" })],
    ["/deop bob", moderate("deop", { user: "bob" })],
    ["/voice bob", moderate("voice", { user: "bob" })],
    ["/devoice bob", moderate("devoice", { user: "bob" })],
    ["/announce restart at noon", moderate("announce", { text: "restart at noon" })],
    ["/topic-lock on", moderate("topic-lock", { on: true })],
    ["/moderated off", moderate("moderated", { on: false })],
  ];
  for (const [line, command] of cases) assert.deepEqual(parseCommand(line, "alice"), command, line);
});

test("a moderation command used wrongly says how to use it", () => {
  const cases = [
    ["/kick", "Usage: /kick NICK [COMMENT]"],
    ["/mute bob soon", "Usage: /mute NICK [SECONDS]"],
    ["/op", "Usage: /op NICK"],
    ["/unban a b", "Usage: /unban MASK"],
    ["/bans all", "/bans takes no arguments."],
    ["/announce", "Usage: /announce TEXT"],
    ["/moderated", "Usage: /moderated on|off"],
  ];
  for (const [line, reason] of cases) {
    assert.deepEqual(parseCommand(line, "alice"), { kind: "mistake", reason }, line);
  }
});
