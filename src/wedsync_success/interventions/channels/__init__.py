"""Channel adapters: how one intervention message leaves this system (email, SMS, webhook…)."""
