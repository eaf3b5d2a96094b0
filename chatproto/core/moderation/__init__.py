"""Moderation (docs/protocol.md section 14, docs/moderation.md): the policy that says who
may do what where (`policy`), what holds in memory (`ledger`), ban masks (`masks`), the
hall's moderation commands and checks (`moderator`), their notices (`notices`) and the
audit log (`audit`)."""
