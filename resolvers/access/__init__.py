"""Access administration: users, role grants, the role matrix, API keys, the audit trail.

Granting at an area needs the access-write right there; the policy rules are
global and need the access-write right anywhere. Every change bumps the
policy version in the same transaction, so every process notices it.
"""
