"""AgentCore Identity emulator: both planes of Amazon Bedrock AgentCore Identity on one port.

    from devstack.agentcore import Emulator, create_app, load_vendor_config, serve_in_thread

See README.md in this folder for the endpoints, the vendor config and what differs from AWS.
"""

from .app import create_app
from .emulator import Clock, Emulator
from .server import serve_in_thread
from .vendors import load_vendor_config

__all__ = ["Clock", "Emulator", "create_app", "load_vendor_config", "serve_in_thread"]
