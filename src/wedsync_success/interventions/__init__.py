"""Interventions: playbooks that act on risk and success, their channels, and their measurement."""
