"""chatproto: a multi-user chat service on Twisted speaking the CSC328 word-packet protocol."""

__version__ = "0.1.0"
