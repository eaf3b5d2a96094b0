"""Moderation (docs/protocol.md section 14, docs/moderation.md): the policy that says who
may do what where (`policy`), what holds in memory (`ledger`), ban masks (`masks`),
where each member stands and the hall's checks (`standing`), the hall's moderation
commands (`moderator`), their notices (`notices`) and the audit log (`audit`)."""
