"""Accounts (docs/protocol.md section 13): the SQLite store, argon2id hashing, twisted.cred."""
