"""The customers: wedding suppliers, their users, plans and subscriptions."""
