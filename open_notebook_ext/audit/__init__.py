"""The audit log: schema-validated events, never a secret, and its handler."""
