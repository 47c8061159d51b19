"""gunicorn for the agent: the shared defaults, with a timeout sized for model calls."""

from identity_core.gunicorn_defaults import *  # noqa: F403

# A chat turn may make several Bedrock calls (tool rounds plus the answer). The ALB gives up
# on a request after its 60-second idle timeout, so that is the longest a turn is worth; the
# shared 30 seconds would cut off slow but legitimate model answers.
timeout = 60
