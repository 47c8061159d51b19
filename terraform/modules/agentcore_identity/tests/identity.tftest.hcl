# Plan-level checks of the workload identity, the credential providers and the IAM documents.
# Needs the hashicorp/aws provider to be installable (terraform init), as in GitHub CI.

mock_provider "aws" {
  # Mocked ARNs are known while planning, so the IAM documents can be inspected.
  override_during = plan

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

  mock_resource "aws_bedrockagentcore_workload_identity" {
    defaults = {
      workload_identity_arn = "arn:aws:bedrock-agentcore:eu-west-1:111122223333:workload-identity-directory/default/workload-identity/test-agent"
    }
  }

  mock_resource "aws_bedrockagentcore_oauth2_credential_provider" {
    defaults = {
      credential_provider_arn = "arn:aws:bedrock-agentcore:eu-west-1:111122223333:token-vault/default/oauth2credentialprovider/mocked"
      client_secret_arn = [
        {
          secret_arn = "arn:aws:secretsmanager:eu-west-1:111122223333:secret:bedrock-agentcore-identity!default/oauth2/mocked-AbCdEf"
        }
      ]
    }
  }

  mock_resource "aws_kms_key" {
    defaults = {
      arn = "arn:aws:kms:eu-west-1:111122223333:key/00000000-0000-0000-0000-000000000001"
    }
  }

  mock_resource "aws_dynamodb_table" {
    defaults = {
      arn = "arn:aws:dynamodb:eu-west-1:111122223333:table/test-agent-pending-flows"
    }
  }
}

variables {
  workload_name       = "test-agent"
  session_binding_url = "https://agents.example.com/oauth2/session-binding"

  credential_providers = {
    github = {
      vendor    = "GithubOauth2"
      client_id = "Iv1.0000000000000000"
    }
    graph = {
      vendor    = "MicrosoftOauth2"
      client_id = "22222222-2222-2222-2222-222222222222"
    }
  }

  # Fictional; the variable is ephemeral, so it never reaches plan or state.
  credential_provider_client_secrets = {
    github = "not-a-real-secret"
    graph  = "not-a-real-secret"
  }
}

run "workload_identity_accepts_only_the_session_binding_url" {
  command = plan

  assert {
    condition     = length(aws_bedrockagentcore_workload_identity.this.allowed_resource_oauth2_return_urls) == 1
    error_message = "The workload identity must allow exactly one return URL."
  }

  assert {
    condition     = contains(aws_bedrockagentcore_workload_identity.this.allowed_resource_oauth2_return_urls, var.session_binding_url)
    error_message = "The workload identity's return URL must be the session binding URL."
  }
}

run "each_provider_gets_the_block_of_its_vendor" {
  command = plan

  assert {
    condition     = aws_bedrockagentcore_oauth2_credential_provider.github["github"].credential_provider_vendor == "GithubOauth2"
    error_message = "The github entry must become a GithubOauth2 provider."
  }

  assert {
    condition     = aws_bedrockagentcore_oauth2_credential_provider.microsoft["graph"].credential_provider_vendor == "MicrosoftOauth2"
    error_message = "The graph entry must become a MicrosoftOauth2 provider."
  }

  assert {
    condition     = length(aws_bedrockagentcore_oauth2_credential_provider.google) == 0 && length(aws_bedrockagentcore_oauth2_credential_provider.custom) == 0
    error_message = "No provider of another vendor may be created."
  }
}

run "agent_policy_allows_exactly_the_agent_calls" {
  command = plan

  assert {
    condition = toset(flatten([for s in data.aws_iam_policy_document.agent.statement : tolist(s.actions)])) == toset([
      "bedrock-agentcore:GetWorkloadAccessTokenForUserId",
      "bedrock-agentcore:GetResourceOauth2Token",
      "secretsmanager:GetSecretValue",
      "dynamodb:GetItem",
      "dynamodb:PutItem",
      "dynamodb:DeleteItem",
      "kms:Decrypt",
      "kms:GenerateDataKey",
      "kms:Encrypt",
      "kms:GenerateDataKeyWithoutPlaintext",
    ])
    error_message = "The agent's document must allow exactly the agent's calls."
  }

  assert {
    condition = contains(
      tolist([for s in data.aws_iam_policy_document.agent.statement : s.resources if contains(s.actions, "bedrock-agentcore:GetWorkloadAccessTokenForUserId")])[0],
      "arn:aws:bedrock-agentcore:eu-west-1:111122223333:workload-identity-directory/default",
    )
    error_message = "GetWorkloadAccessTokenForUserId must name the workload identity directory."
  }

  assert {
    condition = contains(
      tolist([for s in data.aws_iam_policy_document.agent.statement : s.resources if contains(s.actions, "bedrock-agentcore:GetResourceOauth2Token")])[0],
      "arn:aws:bedrock-agentcore:eu-west-1:111122223333:token-vault/default/oauth2credentialprovider/mocked",
    )
    error_message = "GetResourceOauth2Token must name each credential provider."
  }

  assert {
    condition     = !contains(flatten([for s in data.aws_iam_policy_document.agent.statement : tolist(s.actions)]), "bedrock-agentcore:CompleteResourceTokenAuth")
    error_message = "The agent must not complete session bindings: that is the binder's job."
  }
}

run "binder_policy_allows_exactly_the_binder_calls" {
  command = plan

  assert {
    condition = toset(flatten([for s in data.aws_iam_policy_document.binder.statement : tolist(s.actions)])) == toset([
      "bedrock-agentcore:CompleteResourceTokenAuth",
      "secretsmanager:GetSecretValue",
      "dynamodb:GetItem",
      "dynamodb:UpdateItem",
      "kms:Decrypt",
      "kms:GenerateDataKey",
      "kms:Encrypt",
      "kms:GenerateDataKeyWithoutPlaintext",
    ])
    error_message = "The binder's document must allow exactly the binder's calls."
  }
}

run "no_wildcard_action_or_resource_in_the_task_documents" {
  command = plan

  assert {
    condition = alltrue([
      for s in concat(data.aws_iam_policy_document.agent.statement, data.aws_iam_policy_document.binder.statement) :
      alltrue([for a in s.actions : !endswith(a, "*")]) && !contains(s.resources, "*")
    ])
    error_message = "No task document may use a wildcard action or the * resource."
  }
}

run "pending_flow_table_is_on_demand_with_ttl_and_kms" {
  command = plan

  assert {
    condition     = aws_dynamodb_table.pending_flows.billing_mode == "PAY_PER_REQUEST" && aws_dynamodb_table.pending_flows.hash_key == "pk"
    error_message = "The table must be on demand with hash key pk."
  }

  assert {
    condition     = aws_dynamodb_table.pending_flows.ttl[0].attribute_name == "expires_at" && aws_dynamodb_table.pending_flows.ttl[0].enabled
    error_message = "The table's TTL attribute must be expires_at."
  }

  assert {
    condition     = aws_dynamodb_table.pending_flows.server_side_encryption[0].enabled
    error_message = "The table must be encrypted with the module's key."
  }
}

run "workload_name_with_a_space_is_refused" {
  command = plan

  variables {
    workload_name = "test agent"
  }

  expect_failures = [var.workload_name]
}

run "plain_http_session_binding_url_is_refused" {
  command = plan

  variables {
    session_binding_url = "http://agents.example.com/oauth2/session-binding"
  }

  expect_failures = [var.session_binding_url]
}

run "provider_name_with_a_slash_is_refused" {
  command = plan

  variables {
    credential_providers = {
      "git/hub" = {
        vendor    = "GithubOauth2"
        client_id = "Iv1.0000000000000000"
      }
    }
    credential_provider_client_secrets = {
      "git/hub" = "not-a-real-secret"
    }
  }

  expect_failures = [var.credential_providers]
}

run "unknown_vendor_is_refused" {
  command = plan

  variables {
    credential_providers = {
      github = {
        vendor    = "GitHubOAuth2"
        client_id = "Iv1.0000000000000000"
      }
    }
    credential_provider_client_secrets = {
      github = "not-a-real-secret"
    }
  }

  expect_failures = [var.credential_providers]
}

run "provider_without_a_secret_is_refused" {
  command = plan

  variables {
    credential_provider_client_secrets = {
      github = "not-a-real-secret"
    }
  }

  expect_failures = [var.credential_provider_client_secrets]
}
