// The peer of the chat server's WebSocket door in `make bench`: a plain Node.js `ws`
// broadcast server, as the ws README writes one. Every text message a client sends goes to
// every open client, the sender included (as the chat room echoes a sender's own message).
// No rate limit, no history, no nicknames, no send-queue bound: only the fan-out.
//
//   NODE_PATH=DIR/node_modules node ws-broadcast.js PORT
//
// DIR is where the bench installed its pinned `ws` (bench/results/node-ws).
'use strict';

const { WebSocketServer, WebSocket } = require('ws');
const { version } = require('ws/package.json');

const port = Number(process.argv[2]);
if (!Number.isInteger(port) || port <= 0 || port > 65535) {
  console.error('usage: node ws-broadcast.js PORT');
  process.exit(2);
}

// maxPayload as the chat door's cap; no compression, as on the chat door.
const server = new WebSocketServer({
  host: '127.0.0.1', port, maxPayload: 65535, perMessageDeflate: false,
});

server.on('connection', (socket) => {
  socket.on('message', (data, isBinary) => {
    for (const client of server.clients) {
      if (client.readyState === WebSocket.OPEN) client.send(data, { binary: isBinary });
    }
  });
  socket.on('error', () => socket.terminate());
});
server.on('listening', () => console.log(`ws ${version} broadcasting on 127.0.0.1:${port}`));
process.on('SIGTERM', () => process.exit(0));
