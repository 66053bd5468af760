"""Security code that is not about one resource: identity, origins, network, logs, processes."""
