"""A GitHub-compatible subset (profile and repositories) guarded by the external AS's tokens."""
