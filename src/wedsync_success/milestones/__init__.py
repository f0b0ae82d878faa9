"""Milestones: declarative definitions, detection and achievements."""
