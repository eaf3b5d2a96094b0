# Run the chat server as one service of a twistd application:
#     twistd -ny chat.tac
# Put your own services under the same application; SIGTERM stops them all,
# and the chat service keeps serving for its --shutdown-grace before it closes.
from twisted.application.service import Application

from chatproto.service import Options, makeService

options = Options()
# The same options as `twistd chat`; a bad value raises usage.UsageError here.
options.parseOptions(
    [
        "--port", "tcp:10328:interface=127.0.0.1",
        "--history-file", "chat-history.jsonl",
        "--shutdown-grace", "5",
    ]
)

application = Application("chatproto")
makeService(options).setServiceParent(application)
