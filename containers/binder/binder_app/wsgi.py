"""gunicorn's entry point: ``binder_app.wsgi:app``. Settings come from the environment only,
read once here; a bad one stops the process with a line naming it."""

from identity_core.web import load_or_exit

from binder_app import create_app

app = load_or_exit("binder", create_app)
