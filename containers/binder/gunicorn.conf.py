"""gunicorn settings for the binder: the shared defaults, and what differs here.

Started from this folder as ``gunicorn --config gunicorn.conf.py binder_app.wsgi:app``.
"""

# Every shared default, including ones added later: gunicorn reads this module's globals.
from identity_core.gunicorn_defaults import *  # noqa: F403

proc_name = "binder"
# Load the app (and so read and check the settings) in the master before forking: a bad
# setting stops gunicorn once, with its message, instead of in every worker it would spawn.
preload_app = True
