"""What the agent and the session binding service share.

- ``settings``: configuration read once from the environment and validated at start.
- ``alb``: verification of the ALB's signed ``x-amzn-oidc-data`` header.
- ``identity``: the one function that turns verified claims into AgentCore's user id.
- ``pending``: the pending-flow store that lets the binder refuse links it did not issue.
- ``audit``: JSON audit events that link sign-in to agent action.
- ``aws``: boto3 clients with bounded retries and timeouts.
- ``web``: Flask wiring: the identity guard, security headers and JSON errors.
"""
