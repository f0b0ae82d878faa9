"""Synthetic wedding suppliers and their product activity, for the demo, tests and benchmarks.

``generate_population`` builds a deterministic (seeded) world of suppliers whose behaviour is
driven by hidden archetypes and latent engagement, with wedding seasonality, onboarding,
billing and churn; ``GroundTruth`` keeps the hidden drivers so scores and models can be
checked against what really happened.
"""

from wedsync_success.synthetic.catalog import EVENT_TYPE_NAMES, UNKNOWN_EVENT_TYPES
from wedsync_success.synthetic.model import (
    EventColumns,
    GroundTruth,
    Population,
    SyntheticSupplier,
    SyntheticUser,
)
from wedsync_success.synthetic.population import generate_population
from wedsync_success.synthetic.stats import monthly_logo_churn

__all__ = [
    "EVENT_TYPE_NAMES",
    "UNKNOWN_EVENT_TYPES",
    "EventColumns",
    "GroundTruth",
    "Population",
    "SyntheticSupplier",
    "SyntheticUser",
    "generate_population",
    "monthly_logo_churn",
]
