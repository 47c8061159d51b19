"""gunicorn settings both services start from; each folder's ``gunicorn.conf.py`` imports them.

Threads rather than processes carry concurrency: the services wait on AgentCore and HTTP, and
one process per core keeps memory per task small.
"""

import os


def _env_int(name: str, default: int, minimum: int, maximum: int) -> int:
    """An integer setting, or a one-line stop naming it. WEB_CONCURRENCY=0 would otherwise
    start a master with no workers: the port accepts connections and never answers."""
    raw = os.environ.get(name, "").strip() or str(default)
    try:
        value: int | None = int(raw)
    except ValueError:
        value = None
    if value is None or not minimum <= value <= maximum:
        raise SystemExit(
            f"gunicorn: {name} must be an integer from {minimum} to {maximum}: {raw!r}"
        )
    return value


bind = f"0.0.0.0:{_env_int('PORT', 8080, 1, 65535)}"
# More than a few processes per task only multiplies memory; threads carry concurrency.
workers = _env_int("WEB_CONCURRENCY", 2, 1, 64)
worker_class = "gthread"
threads = 8
timeout = 30
graceful_timeout = 20
# Longer than the ALB's 60-second idle timeout, so the ALB never reuses a connection that
# gunicorn has just closed (which shows up as sporadic 502s).
keepalive = 75
# The query string of the binding URL carries the session id: log the path only (%(U)s).
accesslog = "-"
access_log_format = '%(h)s "%(m)s %(U)s" %(s)s %(b)s %(L)ss trace=%({x-amzn-trace-id}i)s'
errorlog = "-"
# Refuse header sections larger than the ALB would ever send (x-amzn-oidc-data is < 16 KB).
limit_request_field_size = 16384
# gunicorn 25+ opens an admin control socket under $HOME or $XDG_RUNTIME_DIR by default. These
# services are managed by ECS (and the local stack), not by gunicornc; two services on one host
# would also share the same socket path.
control_socket_disable = True
