// The Go peer of the chat server's WebSocket door in `make bench` (target go-ws): a hub
// and its clients as in gorilla/websocket's chat example, speaking what the Node peer
// (ws-broadcast.js) speaks. Every message a client sends goes to every open client, the
// sender included, as the same message type. No rate limit, no history, no nicknames, no
// pings: only the fan-out. As in the example, a client whose send queue is full (here
// 1,024 messages; 256 in the example) is taken for stuck and dropped.
//
//	go-hub PORT
//
// Built offline against Debian's golang-github-gorilla-websocket-dev (bench/bench.mk).
package main

import (
	"fmt"
	"log"
	"net/http"
	"os"
	"strconv"

	"github.com/gorilla/websocket"
)

// sendQueue is how many messages a client may have waiting before it is dropped.
const sendQueue = 1024

// maxPayload is the chat door's cap on a message, as the Node peer sets it.
const maxPayload = 65535

// client is one WebSocket connection and the messages waiting to be written to it.
type client struct {
	hub  *hub
	conn *websocket.Conn
	send chan *websocket.PreparedMessage
}

// hub holds the open clients and hands every message to each of them.
type hub struct {
	clients    map[*client]bool
	broadcast  chan *websocket.PreparedMessage
	register   chan *client
	unregister chan *client
}

func newHub() *hub {
	return &hub{
		clients:    make(map[*client]bool),
		broadcast:  make(chan *websocket.PreparedMessage),
		register:   make(chan *client),
		unregister: make(chan *client),
	}
}

func (h *hub) run() {
	for {
		select {
		case c := <-h.register:
			h.clients[c] = true
		case c := <-h.unregister:
			if h.clients[c] {
				delete(h.clients, c)
				close(c.send)
			}
		case message := <-h.broadcast:
			for c := range h.clients {
				select {
				case c.send <- message:
				default:
					delete(h.clients, c)
					close(c.send)
				}
			}
		}
	}
}

// readPump hands every message the client sends to the hub, once framed for sending.
func (c *client) readPump() {
	defer func() {
		c.hub.unregister <- c
		c.conn.Close()
	}()
	c.conn.SetReadLimit(maxPayload)
	for {
		kind, data, err := c.conn.ReadMessage()
		if err != nil {
			return
		}
		message, err := websocket.NewPreparedMessage(kind, data)
		if err != nil {
			return
		}
		c.hub.broadcast <- message
	}
}

// writePump writes the client's messages, each as its own WebSocket message.
func (c *client) writePump() {
	defer c.conn.Close()
	for message := range c.send {
		if err := c.conn.WritePreparedMessage(message); err != nil {
			return
		}
	}
	c.conn.WriteMessage(websocket.CloseMessage, []byte{})
}

var upgrader = websocket.Upgrader{ReadBufferSize: 1024, WriteBufferSize: 1024}

func serve(h *hub, w http.ResponseWriter, r *http.Request) {
	conn, err := upgrader.Upgrade(w, r, nil)
	if err != nil {
		return
	}
	c := &client{hub: h, conn: conn, send: make(chan *websocket.PreparedMessage, sendQueue)}
	h.register <- c
	go c.writePump()
	go c.readPump()
}

func main() {
	if len(os.Args) != 2 {
		fmt.Fprintln(os.Stderr, "usage: go-hub PORT")
		os.Exit(2)
	}
	port, err := strconv.Atoi(os.Args[1])
	if err != nil || port <= 0 || port > 65535 {
		fmt.Fprintln(os.Stderr, "usage: go-hub PORT")
		os.Exit(2)
	}
	h := newHub()
	go h.run()
	http.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) { serve(h, w, r) })
	address := "127.0.0.1:" + strconv.Itoa(port)
	log.Printf("gorilla/websocket hub broadcasting on %s", address)
	log.Fatal(http.ListenAndServe(address, nil))
}
