"""WedSync Success: the customer success platform for wedding suppliers."""

__version__ = "0.1.0"
