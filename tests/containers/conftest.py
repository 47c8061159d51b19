"""Registers the ``containers`` marker (pytest runs with --strict-markers).

Select these tests with ``pytest -m containers``, or leave them out with
``-m "not containers"``.
"""


def pytest_configure(config):
    config.addinivalue_line(
        "markers", "containers: starts each container's CMD under gunicorn in its own venv"
    )
