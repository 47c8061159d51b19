"""gunicorn's entry point: ``agent_app.wsgi:app``. Settings come from the environment only."""

from agent_app import create_app

app = create_app()
