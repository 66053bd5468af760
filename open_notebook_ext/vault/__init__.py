"""The credential vault: keys, providers, credentials, grants, secret reads, redaction."""
