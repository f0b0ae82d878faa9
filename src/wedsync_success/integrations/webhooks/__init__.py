"""Outbound webhooks: endpoints that hear success events, signed in the Standard Webhooks
scheme, delivered durably with retries, held while an endpoint is disabled and replayable."""
