"""The chat client: a Twisted library for bots and integrations, and the terminal program
built on it (interactive on a terminal, line by line from a pipe).

The library: L{api} (C{ChatClient}: events, requests, reconnect and resume;
docs/client-api.md), L{errors} (what it raises), L{testing} (a real server
for your tests), L{service} (a client as a twistd service). Underneath:
L{protocol} and L{websocket} (frames on one connection, word packets or
WebSocket), L{connect} (endpoints and C{ClientService}), L{incoming} (what the
server sent, typed), L{outbox} (pacing what we send).

The program: L{options} (command line), L{session} (the program's
C{ChatClient}), L{escaping} and L{render} (showing untrusted text safely),
L{commands} (what a person typed), L{roster} (who is online) and
L{completion} (Tab on the prompt), L{terminal} and L{pipe} (the two front
ends), L{main} (the program).
"""
