"""JupyterHub service mode: the store, the key and the API as one hub-managed service."""
