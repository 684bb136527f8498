"""LLM explanations: a private, token-budgeted digest of the findings, sent to a provider."""
