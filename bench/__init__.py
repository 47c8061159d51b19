"""``python -m bench``: the figures the project promises, printed, not asserted."""
