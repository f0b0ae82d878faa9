"""Marketing automation: success events as Segment-spec calls, and predictive campaign triggers."""
