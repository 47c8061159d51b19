"""ALB emulator: listener rules, OIDC sign-in and the `x-amzn-oidc-*` headers, on loopback."""
