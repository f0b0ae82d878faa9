"""Integrations with other teams' systems: outbound webhooks (and, later, marketing tools)."""
