# A chat server with a bot beside it, in one twistd application:
#     twistd -ny docs/examples/bot.tac
# The server listens on $CHAT_LISTEN (default tcp:10328:interface=127.0.0.1) and the
# echo bot of echo_bot.py joins it through $CHAT_ENDPOINT (default the same port).
# SIGTERM stops both: the bot leaves with BYE, the server keeps its --shutdown-grace.
import os
import sys

from twisted.application.service import Application

from chatproto.client.service import ChatClientService
from chatproto.service import Options, makeService

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from echo_bot import EchoBot  # noqa: E402  (found beside this file)

listen = os.environ.get("CHAT_LISTEN", "tcp:10328:interface=127.0.0.1")
endpoint = os.environ.get("CHAT_ENDPOINT", "tcp:host=127.0.0.1:port=10328")

options = Options()
options.parseOptions(["--port", listen, "--history-file", "chat-history.jsonl"])

application = Application("chatproto-with-a-bot")
makeService(options).setServiceParent(application)
ChatClientService(EchoBot("echobot"), endpoint).setServiceParent(application)
