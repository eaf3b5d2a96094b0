"""The `chat` twistd plugin: `twistd -n chat --port tcp:10328`."""

from twisted.application.service import ServiceMaker

chat = ServiceMaker(
    "chatproto",
    "chatproto.service",
    "A multi-user chat server speaking the CSC328 word-packet protocol",
    "chat",
)
