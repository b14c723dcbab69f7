"""The contract: credential type (vct), type metadata, claim JSON Schema, API models. No logic."""
