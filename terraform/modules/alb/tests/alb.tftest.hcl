# Plan-level checks of the listener rules, the TLS settings and the input validations.
# Needs the hashicorp/aws provider to be installable (terraform init), as in GitHub CI.

mock_provider "aws" {
  mock_data "aws_caller_identity" {
    defaults = {
      account_id = "111122223333"
    }
  }

  mock_data "aws_iam_policy_document" {
    defaults = {
      json = "{\"Version\":\"2012-10-17\",\"Statement\":[]}"
    }
  }
}

variables {
  name              = "test"
  vpc_id            = "vpc-0123456789abcdef0"
  public_subnet_ids = ["subnet-0123456789abcdef0", "subnet-0123456789abcdef1"]
  domain_name       = "agents.example.com"
  certificate_arn   = "arn:aws:acm:eu-west-1:111122223333:certificate/00000000-0000-0000-0000-000000000000"
  entra_tenant_id   = "00000000-0000-0000-0000-000000000000"
  oidc_client_id    = "11111111-1111-1111-1111-111111111111"
  log_kms_key_arn   = "arn:aws:kms:eu-west-1:111122223333:key/00000000-0000-0000-0000-000000000001"

  # Fictional: the real one comes from TF_VAR_oidc_client_secret.
  oidc_client_secret = "not-a-real-secret"
}

run "every_rule_authenticates_before_it_forwards" {
  command = plan

  assert {
    condition = alltrue([
      for rule in [aws_lb_listener_rule.session_binding, aws_lb_listener_rule.agent_api, aws_lb_listener_rule.agent_page] :
      one([for a in rule.action : a.order if a.type == "authenticate-oidc"]) < one([for a in rule.action : a.order if a.type == "forward"])
    ])
    error_message = "Each listener rule must run authenticate-oidc before forward."
  }

  assert {
    condition     = alltrue([for rule in [aws_lb_listener_rule.session_binding, aws_lb_listener_rule.agent_api, aws_lb_listener_rule.agent_page] : length(rule.action) == 2])
    error_message = "Each listener rule must have exactly the authenticate and forward actions."
  }
}

run "api_paths_deny_and_pages_sign_in" {
  command = plan

  assert {
    condition     = one([for a in aws_lb_listener_rule.agent_api.action : a.authenticate_oidc[0].on_unauthenticated_request if a.type == "authenticate-oidc"]) == "deny"
    error_message = "Unsigned API calls must get 401, not a redirect fetch() cannot follow."
  }

  assert {
    condition     = one([for a in aws_lb_listener_rule.agent_page.action : a.authenticate_oidc[0].on_unauthenticated_request if a.type == "authenticate-oidc"]) == "authenticate"
    error_message = "Unsigned visitors of the page must be sent to sign in."
  }

  assert {
    condition     = one([for a in aws_lb_listener_rule.session_binding.action : a.authenticate_oidc[0].on_unauthenticated_request if a.type == "authenticate-oidc"]) == "authenticate"
    error_message = "Unsigned visitors of the session binding URL must be sent to sign in."
  }

  assert {
    condition     = one([for c in aws_lb_listener_rule.session_binding.condition : one(c.path_pattern[0].values) if length(c.path_pattern) > 0]) == "/oauth2/session-binding"
    error_message = "The binder's rule must match the session binding path."
  }
}

run "entra_endpoints_are_derived_from_the_tenant" {
  command = plan

  assert {
    condition = alltrue([
      for a in aws_lb_listener_rule.agent_page.action : (
        a.authenticate_oidc[0].issuer == "https://login.microsoftonline.com/00000000-0000-0000-0000-000000000000/v2.0" &&
        a.authenticate_oidc[0].authorization_endpoint == "https://login.microsoftonline.com/00000000-0000-0000-0000-000000000000/oauth2/v2.0/authorize" &&
        a.authenticate_oidc[0].token_endpoint == "https://login.microsoftonline.com/00000000-0000-0000-0000-000000000000/oauth2/v2.0/token" &&
        a.authenticate_oidc[0].user_info_endpoint == "https://graph.microsoft.com/oidc/userinfo" &&
        a.authenticate_oidc[0].scope == "openid profile email"
      ) if a.type == "authenticate-oidc"
    ])
    error_message = "The OIDC endpoints must be the Entra ID v2 endpoints of the tenant."
  }

  assert {
    condition     = output.redirect_uri == "https://agents.example.com/oauth2/idpresponse"
    error_message = "The redirect URI to register must be the load balancer's /oauth2/idpresponse."
  }
}

run "tls_and_header_hygiene_are_on_by_default" {
  command = plan

  assert {
    condition     = startswith(aws_lb_listener.https.ssl_policy, "ELBSecurityPolicy-TLS13-")
    error_message = "The HTTPS listener must use a TLS 1.3 policy."
  }

  assert {
    condition     = aws_lb.this.drop_invalid_header_fields && aws_lb.this.enable_deletion_protection && !aws_lb.this.internal
    error_message = "The load balancer must drop invalid headers and be protected against deletion."
  }

  assert {
    condition     = aws_lb_listener.http.default_action[0].type == "redirect" && aws_lb_listener.http.default_action[0].redirect[0].protocol == "HTTPS"
    error_message = "Port 80 must only redirect to HTTPS."
  }

  assert {
    condition     = aws_lb_listener.https.default_action[0].fixed_response[0].status_code == "404"
    error_message = "Requests no rule matches must get 404."
  }
}

run "waf_counts_chat_bodies_instead_of_blocking_them" {
  command = plan

  assert {
    condition = toset(flatten([
      for r in aws_wafv2_web_acl.this[0].rule : [
        for o in r.statement[0].managed_rule_group_statement[0].rule_action_override : o.name if length(o.action_to_use[0].count) > 0
      ] if r.name == "aws-common"
      ])) == toset([
      "SizeRestrictions_BODY",
      "CrossSiteScripting_BODY",
      "GenericLFI_BODY",
      "GenericRFI_BODY",
      "EC2MetaDataSSRF_BODY",
    ])
    error_message = "The common rule set must only count its body rules, so chat bodies pass, and keep blocking the rest."
  }
}

run "waf_can_be_turned_off" {
  command = plan

  variables {
    enable_waf = false
  }

  assert {
    condition     = length(aws_wafv2_web_acl.this) == 0 && output.web_acl_arn == null
    error_message = "enable_waf = false must create no web ACL."
  }
}

run "tenant_id_that_is_not_a_guid_is_refused" {
  command = plan

  variables {
    entra_tenant_id = "contoso.onmicrosoft.com"
  }

  expect_failures = [var.entra_tenant_id]
}

run "tls12_policy_is_refused" {
  command = plan

  variables {
    ssl_policy = "ELBSecurityPolicy-2016-08"
  }

  expect_failures = [var.ssl_policy]
}

run "no_certificate_and_no_zone_is_refused" {
  command = plan

  variables {
    certificate_arn = null
  }

  expect_failures = [var.certificate_arn]
}

run "wildcard_session_binding_path_is_refused" {
  command = plan

  variables {
    session_binding_path = "/oauth2/*"
  }

  expect_failures = [var.session_binding_path]
}

run "privileged_target_port_is_refused" {
  command = plan

  variables {
    target_port = 80
  }

  expect_failures = [var.target_port]
}

run "plain_http_user_info_endpoint_is_refused" {
  command = plan

  variables {
    oidc_user_info_endpoint = "http://graph.microsoft.com/oidc/userinfo"
  }

  expect_failures = [var.oidc_user_info_endpoint]
}
