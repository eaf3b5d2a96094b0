"""The terminal chat client: interactive on a terminal, line by line from a pipe.

Modules, one job each: L{options} (command line), L{incoming} (what the server
sent, typed), L{escaping} and L{render} (showing untrusted text safely),
L{commands} (what a person typed), L{outbox} (pacing what we send),
L{roster} (who is online) and L{completion} (Tab on the prompt),
L{session} (the protocol state across reconnects), L{protocol} (frames on one
connection), L{connect} (endpoints and C{ClientService}), L{terminal} and
L{pipe} (the two front ends), L{main} (the program).
"""
