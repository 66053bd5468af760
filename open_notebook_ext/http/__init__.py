"""HTTP plumbing shared by every route: the base handler, JSON parsing, the route table."""
