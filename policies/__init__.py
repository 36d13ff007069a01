"""Authorization: the Casbin model and policy data, and the authorizer that answers
"who may do what where" as plain values (scopes), never as SQL.

Imports nothing of the project above it, and not ``db``.
"""
