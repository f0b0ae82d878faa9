"""Health scoring: components, weights, computation, history, trends and explanations."""
