"""Run the client as C{python -m chatproto.client}."""

from chatproto.client.main import main

raise SystemExit(main())
