"""Resolvers: GraphQL arguments → policy check → db query → values for the schema.

They return rows and plain values; ``schema`` maps them to GraphQL types.
"""
