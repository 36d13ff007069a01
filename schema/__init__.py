"""The GraphQL schema: strawberry types, inputs, payloads, the Schema itself."""
