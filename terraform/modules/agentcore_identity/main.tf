data "aws_caller_identity" "current" {}

data "aws_region" "current" {}

data "aws_partition" "current" {}

locals {
  account_id = data.aws_caller_identity.current.account_id
  region     = data.aws_region.current.region
  partition  = data.aws_partition.current.partition

  # The ARNs as AgentCore authorizes them. A workload-identity/* pattern alone matches
  # nothing: the directory itself has to be listed next to the identity.
  arn_prefix             = "arn:${local.partition}:bedrock-agentcore:${local.region}:${local.account_id}"
  workload_directory_arn = "${local.arn_prefix}:workload-identity-directory/default"
  token_vault_arn        = "${local.arn_prefix}:token-vault/default"

  # The key the account's default token vault really uses: this module's own when it manages
  # the vault's key, otherwise the one the managing stack set. The task roles are granted on
  # this key; a key of our own that the vault does not use would leave them without access.
  token_vault_key_arn = var.manage_token_vault_cmk ? one(aws_kms_key.token_vault[*].arn) : var.token_vault_kms_key_arn

  # KMS alias names allow no dots, which workload names may contain.
  alias_prefix = "alias/${replace(var.workload_name, ".", "-")}"

  # One resource block per vendor keeps each block plain; the merged maps below are what
  # the rest of the module reads.
  github_providers    = { for name, p in var.credential_providers : name => p if p.vendor == "GithubOauth2" }
  microsoft_providers = { for name, p in var.credential_providers : name => p if p.vendor == "MicrosoftOauth2" }
  google_providers    = { for name, p in var.credential_providers : name => p if p.vendor == "GoogleOauth2" }
  custom_providers    = { for name, p in var.credential_providers : name => p if p.vendor == "CustomOauth2" }

  provider_arns = merge(
    { for name, p in aws_bedrockagentcore_oauth2_credential_provider.github : name => p.credential_provider_arn },
    { for name, p in aws_bedrockagentcore_oauth2_credential_provider.microsoft : name => p.credential_provider_arn },
    { for name, p in aws_bedrockagentcore_oauth2_credential_provider.google : name => p.credential_provider_arn },
    { for name, p in aws_bedrockagentcore_oauth2_credential_provider.custom : name => p.credential_provider_arn },
  )

  # AgentCore keeps each client secret in a Secrets Manager secret of its own
  # (bedrock-agentcore-identity!default/oauth2/<name>) and reads it as the caller.
  provider_secret_arns = merge(
    { for name, p in aws_bedrockagentcore_oauth2_credential_provider.github : name => one(p.client_secret_arn[*].secret_arn) },
    { for name, p in aws_bedrockagentcore_oauth2_credential_provider.microsoft : name => one(p.client_secret_arn[*].secret_arn) },
    { for name, p in aws_bedrockagentcore_oauth2_credential_provider.google : name => one(p.client_secret_arn[*].secret_arn) },
    { for name, p in aws_bedrockagentcore_oauth2_credential_provider.custom : name => one(p.client_secret_arn[*].secret_arn) },
  )
}

################################################################################
# Workload identity: the session binding URL is the one return URL AgentCore accepts
################################################################################

resource "aws_bedrockagentcore_workload_identity" "this" {
  name                                = var.workload_name
  allowed_resource_oauth2_return_urls = [var.session_binding_url]
}

################################################################################
# OAuth2 credential providers, one per external service. The client id and secret are
# write-only arguments fed from an ephemeral variable: neither reaches the plan or the state.
# Raise credentials_version to push a new secret.
################################################################################

resource "aws_bedrockagentcore_oauth2_credential_provider" "github" {
  for_each = local.github_providers

  name                       = each.key
  credential_provider_vendor = "GithubOauth2"

  oauth2_provider_config {
    github_oauth2_provider_config {
      client_id_wo                  = each.value.client_id
      client_secret_wo              = var.credential_provider_client_secrets[each.key]
      client_credentials_wo_version = each.value.credentials_version
    }
  }
}

# Known shortcoming: hashicorp/aws 6.25 has no tenant_id in microsoft_oauth2_provider_config,
# although the API takes tenantId ("the tenant where your application is registered"). Without
# it AgentCore cannot address the tenant's own endpoints, which an app registered for one
# organisation only needs (an inference, not verified here). Register the external app for
# several organisations, or use vendor CustomOauth2 with the tenant's discovery_url (the agent
# then does not add offline_access by itself: put it in the scopes).
resource "aws_bedrockagentcore_oauth2_credential_provider" "microsoft" {
  for_each = local.microsoft_providers

  name                       = each.key
  credential_provider_vendor = "MicrosoftOauth2"

  oauth2_provider_config {
    microsoft_oauth2_provider_config {
      client_id_wo                  = each.value.client_id
      client_secret_wo              = var.credential_provider_client_secrets[each.key]
      client_credentials_wo_version = each.value.credentials_version
    }
  }
}

resource "aws_bedrockagentcore_oauth2_credential_provider" "google" {
  for_each = local.google_providers

  name                       = each.key
  credential_provider_vendor = "GoogleOauth2"

  oauth2_provider_config {
    google_oauth2_provider_config {
      client_id_wo                  = each.value.client_id
      client_secret_wo              = var.credential_provider_client_secrets[each.key]
      client_credentials_wo_version = each.value.credentials_version
    }
  }
}

resource "aws_bedrockagentcore_oauth2_credential_provider" "custom" {
  for_each = local.custom_providers

  name                       = each.key
  credential_provider_vendor = "CustomOauth2"

  oauth2_provider_config {
    custom_oauth2_provider_config {
      client_id_wo                  = each.value.client_id
      client_secret_wo              = var.credential_provider_client_secrets[each.key]
      client_credentials_wo_version = each.value.credentials_version

      oauth_discovery {
        discovery_url = each.value.discovery_url
      }
    }
  }
}

################################################################################
# Token vault encryption with a customer managed key
################################################################################

# The developer guide's example key policy lets every principal of the account use the key
# through AgentCore Identity. Here the key policy only delegates to IAM, and the task roles'
# documents below grant its use: through AgentCore Identity, for this account's vault only.
data "aws_iam_policy_document" "token_vault_key" {
  # A key policy: its "*" resource means this key, and kms:* for the account root hands the
  # key's administration to IAM, as the AWS default key policy does.
  #checkov:skip=CKV_AWS_109:Key policy; the account root statement delegates administration of this one key to IAM
  #checkov:skip=CKV_AWS_111:Key policy; "*" as resource is the key itself, not every resource
  #checkov:skip=CKV_AWS_356:Key policy; "*" as resource is the key itself, not every resource
  statement {
    sid       = "AccountAdministers"
    actions   = ["kms:*"]
    resources = ["*"]

    principals {
      type        = "AWS"
      identifiers = ["arn:${local.partition}:iam::${local.account_id}:root"]
    }
  }
}

resource "aws_kms_key" "token_vault" {
  count = var.manage_token_vault_cmk ? 1 : 0

  description             = "Encrypts the AgentCore Identity token vault of ${var.workload_name}"
  enable_key_rotation     = true
  deletion_window_in_days = 30
  policy                  = data.aws_iam_policy_document.token_vault_key.json

  tags = var.tags
}

resource "aws_kms_alias" "token_vault" {
  count = var.manage_token_vault_cmk ? 1 : 0

  name          = "${local.alias_prefix}-token-vault"
  target_key_id = aws_kms_key.token_vault[0].key_id
}

# The key was a single resource before it became optional: keep it, never replace it (the
# vault's tokens are encrypted with it).
moved {
  from = aws_kms_key.token_vault
  to   = aws_kms_key.token_vault[0]
}

moved {
  from = aws_kms_alias.token_vault
  to   = aws_kms_alias.token_vault[0]
}

# The default token vault is one per account and region: destroying this resource leaves
# the key in place, and two stacks in one account must not both manage it.
resource "aws_bedrockagentcore_token_vault_cmk" "this" {
  count = var.manage_token_vault_cmk ? 1 : 0

  token_vault_id = "default"

  kms_configuration {
    key_type    = "CustomerManagedKey"
    kms_key_arn = aws_kms_key.token_vault[0].arn
  }
}

################################################################################
# Pending-flow table (docs/architecture.md, "Pending-flow table")
################################################################################

data "aws_iam_policy_document" "table_key" {
  # A key policy: its "*" resource means this key, and kms:* for the account root hands the
  # key's administration to IAM, as the AWS default key policy does.
  #checkov:skip=CKV_AWS_109:Key policy; the account root statement delegates administration of this one key to IAM
  #checkov:skip=CKV_AWS_111:Key policy; "*" as resource is the key itself, not every resource
  #checkov:skip=CKV_AWS_356:Key policy; "*" as resource is the key itself, not every resource
  statement {
    sid       = "AccountAdministers"
    actions   = ["kms:*"]
    resources = ["*"]

    principals {
      type        = "AWS"
      identifiers = ["arn:${local.partition}:iam::${local.account_id}:root"]
    }
  }
}

resource "aws_kms_key" "table" {
  description             = "Encrypts the pending-flow table of ${var.workload_name}"
  enable_key_rotation     = true
  deletion_window_in_days = 30
  policy                  = data.aws_iam_policy_document.table_key.json

  tags = var.tags
}

resource "aws_kms_alias" "table" {
  name          = "${local.alias_prefix}-pending-flows"
  target_key_id = aws_kms_key.table.key_id
}

resource "aws_dynamodb_table" "pending_flows" {
  name                        = coalesce(var.pending_flow_table_name, "${var.workload_name}-pending-flows")
  billing_mode                = "PAY_PER_REQUEST"
  hash_key                    = "pk"
  deletion_protection_enabled = var.deletion_protection

  attribute {
    name = "pk"
    type = "S"
  }

  # TTL deletes lazily; the services compare expires_at with the clock as well.
  ttl {
    attribute_name = "expires_at"
    enabled        = true
  }

  server_side_encryption {
    enabled     = true
    kms_key_arn = aws_kms_key.table.arn
  }

  point_in_time_recovery {
    enabled = true
  }

  tags = var.tags
}

################################################################################
# What each task role needs, on exact ARNs
################################################################################

data "aws_iam_policy_document" "agent" {
  statement {
    sid     = "WorkloadAccessTokenForUser"
    actions = ["bedrock-agentcore:GetWorkloadAccessTokenForUserId"]
    resources = [
      local.workload_directory_arn,
      aws_bedrockagentcore_workload_identity.this.workload_identity_arn,
    ]
  }

  statement {
    sid     = "UserOauth2Token"
    actions = ["bedrock-agentcore:GetResourceOauth2Token"]
    resources = concat(
      [
        local.workload_directory_arn,
        aws_bedrockagentcore_workload_identity.this.workload_identity_arn,
        local.token_vault_arn,
      ],
      values(local.provider_arns),
    )
  }

  # GetResourceOauth2Token reads the provider's client secret with the caller's
  # credentials when it refreshes a token.
  statement {
    sid       = "ProviderClientSecret"
    actions   = ["secretsmanager:GetSecretValue"]
    resources = values(local.provider_secret_arns)
  }

  statement {
    sid = "PendingFlows"
    actions = [
      "dynamodb:GetItem",
      "dynamodb:PutItem",
      "dynamodb:DeleteItem",
    ]
    resources = [aws_dynamodb_table.pending_flows.arn]
  }

  statement {
    sid = "PendingFlowsKey"
    actions = [
      "kms:Decrypt",
      "kms:GenerateDataKey",
    ]
    resources = [aws_kms_key.table.arn]

    condition {
      test     = "StringEquals"
      variable = "kms:ViaService"
      values   = ["dynamodb.${local.region}.amazonaws.com"]
    }
  }

  statement {
    sid = "TokenVaultKey"
    actions = [
      "kms:Encrypt",
      "kms:Decrypt",
      "kms:GenerateDataKeyWithoutPlaintext",
    ]
    resources = [local.token_vault_key_arn]

    condition {
      test     = "StringEquals"
      variable = "kms:ViaService"
      values   = ["bedrock-agentcore-identity.${local.region}.amazonaws.com"]
    }

    condition {
      test     = "StringEquals"
      variable = "kms:EncryptionContext:aws-crypto-ec:aws:bedrock-agentcore-identity:token-vault-arn"
      values   = [local.token_vault_arn]
    }
  }

  # The developer guide's key policy for the vault's key also lets AgentCore Identity describe
  # the key on the caller's behalf. DescribeKey carries no encryption context, so it cannot
  # share the statement above. Key policies here delegate to IAM, so the grant lives here.
  statement {
    sid       = "TokenVaultKeyDescribe"
    actions   = ["kms:DescribeKey"]
    resources = [local.token_vault_key_arn]

    condition {
      test     = "StringEquals"
      variable = "kms:ViaService"
      values   = ["bedrock-agentcore-identity.${local.region}.amazonaws.com"]
    }
  }
}

data "aws_iam_policy_document" "binder" {
  # The service authorizes CompleteResourceTokenAuth against the directory, the workload
  # identity, the token vault and the credential provider together.
  statement {
    sid     = "CompleteSessionBinding"
    actions = ["bedrock-agentcore:CompleteResourceTokenAuth"]
    resources = concat(
      [
        local.workload_directory_arn,
        aws_bedrockagentcore_workload_identity.this.workload_identity_arn,
        local.token_vault_arn,
      ],
      values(local.provider_arns),
    )
  }

  # Completing the binding exchanges the authorization code, which needs the client secret.
  statement {
    sid       = "ProviderClientSecret"
    actions   = ["secretsmanager:GetSecretValue"]
    resources = values(local.provider_secret_arns)
  }

  statement {
    sid = "PendingFlows"
    actions = [
      "dynamodb:GetItem",
      "dynamodb:UpdateItem",
    ]
    resources = [aws_dynamodb_table.pending_flows.arn]
  }

  statement {
    sid = "PendingFlowsKey"
    actions = [
      "kms:Decrypt",
      "kms:GenerateDataKey",
    ]
    resources = [aws_kms_key.table.arn]

    condition {
      test     = "StringEquals"
      variable = "kms:ViaService"
      values   = ["dynamodb.${local.region}.amazonaws.com"]
    }
  }

  statement {
    sid = "TokenVaultKey"
    actions = [
      "kms:Encrypt",
      "kms:Decrypt",
      "kms:GenerateDataKeyWithoutPlaintext",
    ]
    resources = [local.token_vault_key_arn]

    condition {
      test     = "StringEquals"
      variable = "kms:ViaService"
      values   = ["bedrock-agentcore-identity.${local.region}.amazonaws.com"]
    }

    condition {
      test     = "StringEquals"
      variable = "kms:EncryptionContext:aws-crypto-ec:aws:bedrock-agentcore-identity:token-vault-arn"
      values   = [local.token_vault_arn]
    }
  }

  # The developer guide's key policy for the vault's key also lets AgentCore Identity describe
  # the key on the caller's behalf. DescribeKey carries no encryption context, so it cannot
  # share the statement above. Key policies here delegate to IAM, so the grant lives here.
  statement {
    sid       = "TokenVaultKeyDescribe"
    actions   = ["kms:DescribeKey"]
    resources = [local.token_vault_key_arn]

    condition {
      test     = "StringEquals"
      variable = "kms:ViaService"
      values   = ["bedrock-agentcore-identity.${local.region}.amazonaws.com"]
    }
  }
}
