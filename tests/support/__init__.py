"""Helpers shared by the test suites: ALB-shaped tokens, a local key endpoint, settings."""
