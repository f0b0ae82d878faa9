"""HTTP: the FastAPI app factory, auth dependencies, error shape and router wiring."""
