"""Small shared plumbing used by every domain: errors, clocks, pagination."""
