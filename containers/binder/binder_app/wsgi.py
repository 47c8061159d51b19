"""gunicorn's entry point: ``binder_app.wsgi:app``.

Settings are read here, once, when gunicorn loads the app. A missing or malformed one stops the
process with a one-line message naming the variable (no traceback to dig through).
"""

import sys

from identity_core.settings import SettingsError, configure_logging

from binder_app import create_app

try:
    app = create_app()
except SettingsError as exc:
    sys.stderr.write(f"binder: configuration error: {exc}\n")
    sys.stderr.flush()
    # 3 is gunicorn's WORKER_BOOT_ERROR: with or without preload_app, gunicorn stops rather
    # than respawning workers that can never start.
    raise SystemExit(3) from None

configure_logging(app.config["BINDER_SETTINGS"].core.log_level)
