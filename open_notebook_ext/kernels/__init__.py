"""Kernels: per-kernel tokens, the environment firewall, the launcher, Kernel Gateway."""
