# Plan-level checks of the composed stack with the example's values. Needs the hashicorp/aws
# provider to be installable (terraform init), as in GitHub CI.

mock_provider "aws" {
  mock_data "aws_caller_identity" {
    defaults = {
      account_id = "111122223333"
    }
  }

  mock_data "aws_region" {
    defaults = {
      region = "eu-west-1"
    }
  }

  mock_data "aws_partition" {
    defaults = {
      partition = "aws"
    }
  }

  mock_data "aws_availability_zones" {
    defaults = {
      names = ["eu-west-1a", "eu-west-1b", "eu-west-1c"]
    }
  }

  mock_data "aws_iam_policy_document" {
    defaults = {
      json = "{\"Version\":\"2012-10-17\",\"Statement\":[]}"
    }
  }
}

variables {
  region          = "eu-west-1"
  name            = "ai-agents"
  domain_name     = "agents.example.com"
  certificate_arn = "arn:aws:acm:eu-west-1:111122223333:certificate/00000000-0000-0000-0000-000000000000"
  entra_tenant_id = "00000000-0000-0000-0000-000000000000"
  oidc_client_id  = "11111111-1111-1111-1111-111111111111"
  workload_name   = "ai-agents-agent"

  credential_providers = {
    github = {
      vendor    = "GithubOauth2"
      client_id = "Iv1.0000000000000000"
    }
  }

  agent_credential_provider = "github"
  bedrock_model_id          = "eu.anthropic.claude-sonnet-4-20250514-v1:0"
  agent_image_digest        = "sha256:0000000000000000000000000000000000000000000000000000000000000000"
  binder_image_digest       = "sha256:1111111111111111111111111111111111111111111111111111111111111111"

  # Fictional: the real ones come from TF_VAR_oidc_client_secret and
  # TF_VAR_credential_provider_client_secrets.
  oidc_client_secret = "not-a-real-secret"
  credential_provider_client_secrets = {
    github = "not-a-real-secret"
  }
}

run "return_url_and_agent_setting_are_the_same_url" {
  command = plan

  assert {
    condition     = output.session_binding_url == "https://agents.example.com/oauth2/session-binding"
    error_message = "The session binding URL must be the binder's path on the public host."
  }

  assert {
    condition     = length(module.identity.allowed_return_urls) == 1 && contains(module.identity.allowed_return_urls, output.session_binding_url)
    error_message = "The workload identity must allow exactly the session binding URL."
  }

  assert {
    condition     = output.entra_redirect_uri == "https://agents.example.com/oauth2/idpresponse"
    error_message = "The Entra redirect URI must be the load balancer's /oauth2/idpresponse."
  }

  assert {
    condition     = output.credential_provider_callback_urls == null
    error_message = "The callback URLs are not exported by the provider; the output must say so by being null."
  }
}

run "agent_may_invoke_the_configured_inference_profile_only" {
  command = plan

  assert {
    condition     = data.aws_iam_policy_document.agent_model.statement[0].resources == toset(["arn:aws:bedrock:eu-west-1:111122223333:inference-profile/eu.anthropic.claude-sonnet-4-20250514-v1:0"])
    error_message = "InvokeModel must name the configured inference profile only."
  }

  assert {
    condition     = data.aws_iam_policy_document.agent_model_via_profile[0].statement[0].resources == toset(["arn:aws:bedrock:*::foundation-model/anthropic.claude-sonnet-4-20250514-v1:0"])
    error_message = "The profile's model must be allowed in the profile's regions."
  }

  assert {
    condition     = one(data.aws_iam_policy_document.agent_model_via_profile[0].statement[0].condition).variable == "bedrock:InferenceProfileArn"
    error_message = "The model in other regions must be reachable through the profile only."
  }
}

run "agent_may_invoke_a_plain_model_in_the_region_only" {
  command = plan

  variables {
    bedrock_model_id = "anthropic.claude-3-5-haiku-20241022-v1:0"
  }

  assert {
    condition     = data.aws_iam_policy_document.agent_model.statement[0].resources == toset(["arn:aws:bedrock:eu-west-1::foundation-model/anthropic.claude-3-5-haiku-20241022-v1:0"])
    error_message = "InvokeModel must name the configured foundation model in the stack's region only."
  }

  assert {
    condition     = length(data.aws_iam_policy_document.agent_model_via_profile) == 0
    error_message = "A plain model id must not open any other region."
  }
}

run "agent_provider_that_is_not_configured_is_refused" {
  command = plan

  variables {
    agent_credential_provider = "gitlab"
  }

  expect_failures = [var.agent_credential_provider]
}

run "image_tag_instead_of_digest_is_refused" {
  command = plan

  variables {
    agent_image_digest = "latest"
  }

  expect_failures = [var.agent_image_digest]
}
