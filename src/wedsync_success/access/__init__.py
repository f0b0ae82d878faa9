"""Who may use the system: API keys with scopes."""
