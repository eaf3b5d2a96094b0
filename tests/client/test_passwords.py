"""The program's passwords (docs/client.md): asked for without echo when the server
says the nickname is registered, given by file or environment, /register, and the
warning before one crosses the network in the clear."""

from __future__ import annotations

from pathlib import Path

import pytest
from twisted.trial.unittest import SynchronousTestCase

from chatproto.client.commands import Register, parse_command
from chatproto.client.options import UsageError, parse_options, sends_passwords_in_the_clear
from tests.client.fakes import Harness, notice, welcome

REQUIRED = notice("error", "alice is registered: log in with its password", code="account-required")


class PasswordTests(SynchronousTestCase):
    """The session asks the front end, and sends the nickname with the password."""

    def test_a_registered_nickname_asks_for_the_password(self) -> None:
        h = Harness("alice", asks_password=True)
        h.connect()
        h.server("HELLO", "NICK")
        self.assertEqual(h.sent(), [{"nickname": "alice"}])
        h.server(REQUIRED, "RETRY")
        [(question, answer)] = h.frontend.questions
        assert question is not None
        self.assertIn("Password for alice", question)
        answer.callback("secret words")
        self.assertEqual(h.sent(), [{"nickname": "alice", "password": "secret words"}])
        h.server("READY", welcome(account="alice"))
        self.assertEqual(h.session.account, "alice")

    def test_a_given_password_goes_with_the_nickname_after_a_warning(self) -> None:
        h = Harness("alice", password="secret words", clear_text_warning=True)
        self.assertIn("has no TLS", h.frontend.notices()[0])
        h.connect()
        h.server("HELLO", "NICK")
        self.assertEqual(h.sent(), [{"nickname": "alice", "password": "secret words"}])

    def test_register_asks_for_a_password_and_sends_it(self) -> None:
        h = Harness("alice")
        h.join()
        h.session.typed("/register")
        [(question, answer)] = h.frontend.questions
        self.assertEqual(question, "Choose a password for alice:")
        answer.callback("secret words")
        self.assertEqual(h.sent(), [{"command": "register", "password": "secret words"}])
        h.server(notice("registered", "alice is registered", account="alice"))
        self.assertIn("alice is registered: you are logged in.", h.frontend.notices())


def test_register_is_a_command() -> None:
    assert parse_command("/register") == Register()
    assert parse_command("/REGISTER") == Register()


def test_the_password_comes_from_a_file_or_the_environment(tmp_path: Path) -> None:
    secret = tmp_path / "password"
    secret.write_text("from the file\nsecond line\n")
    options = parse_options(["--password-file", str(secret), "localhost"], {})
    assert options.password == "from the file"
    environ = {"CHATPROTO_PASSWORD": "from the environment"}
    assert parse_options(["localhost"], environ).password == "from the environment"
    assert parse_options(["localhost"], {}).password is None
    with pytest.raises(UsageError, match="--password-file"):
        parse_options(["--password-file", str(tmp_path / "missing"), "localhost"], {})


@pytest.mark.parametrize(
    ("argv", "clear"),
    [
        (["localhost"], False),
        (["127.0.0.1"], False),
        (["::1"], False),
        (["chat.example"], True),
        (["--tls", "chat.example"], False),
        (["tcp:host=chat.example:port=10328"], True),
        (["tcp:host=127.0.0.1:port=10328"], False),
        (["ssl:host=chat.example:port=10328"], False),
        (["unix:/run/chat.sock"], False),
    ],
)
def test_which_connections_send_passwords_in_the_clear(argv: list[str], clear: bool) -> None:
    assert sends_passwords_in_the_clear(parse_options(argv, {})) is clear
