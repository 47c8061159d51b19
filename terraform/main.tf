data "aws_caller_identity" "current" {}

data "aws_region" "current" {}

data "aws_partition" "current" {}

locals {
  account_id = data.aws_caller_identity.current.account_id
  region     = data.aws_region.current.region
  partition  = data.aws_partition.current.partition

  # Computed once: the workload identity accepts exactly this return URL, and the agent
  # sends exactly this one on every GetResourceOauth2Token call.
  session_binding_url = "https://${var.domain_name}${var.session_binding_path}"

  agent_repository  = "${var.name}/agent"
  binder_repository = "${var.name}/binder"

  # A system inference profile id is a model id behind a geography prefix (eu., us., ...).
  bedrock_is_inference_profile  = can(regex("^(us|us-gov|eu|apac|jp|au|ca|global)\\.", var.bedrock_model_id))
  bedrock_base_model_id         = local.bedrock_is_inference_profile ? join(".", slice(split(".", var.bedrock_model_id), 1, length(split(".", var.bedrock_model_id)))) : var.bedrock_model_id
  bedrock_inference_profile_arn = "arn:${local.partition}:bedrock:${local.region}:${local.account_id}:inference-profile/${var.bedrock_model_id}"
  bedrock_foundation_model_arn  = "arn:${local.partition}:bedrock:${local.region}::foundation-model/${var.bedrock_model_id}"

  # Settings both containers read (docs/architecture.md, "Settings"). Secrets never go here.
  common_environment = {
    AWS_REGION         = local.region
    ALB_ARN            = module.alb.arn
    OIDC_ISSUER        = module.alb.oidc_issuer
    OIDC_CLIENT_ID     = var.oidc_client_id
    USER_ID_PREFIX     = var.user_id_prefix
    PENDING_FLOW_TABLE = module.identity.pending_flow_table_name
    LOG_LEVEL          = var.log_level
    PORT               = tostring(var.container_port)
  }

  agent_settings = {
    WORKLOAD_NAME              = module.identity.workload_identity_name
    CREDENTIAL_PROVIDER_NAME   = var.agent_credential_provider
    CREDENTIAL_PROVIDER_VENDOR = var.credential_providers[var.agent_credential_provider].vendor
    CREDENTIAL_PROVIDER_SCOPES = join(" ", var.agent_credential_provider_scopes)
    SESSION_BINDING_URL        = local.session_binding_url
    EXTERNAL_API_BASE_URL      = var.external_api_base_url
    MODEL_PROVIDER             = "bedrock"
    MODEL_ID                   = var.bedrock_model_id
  }

  binder_settings = {
    SESSION_BINDING_PATH = var.session_binding_path
    POST_BINDING_PATH    = var.post_binding_path
  }

  # Named maps merged here (rather than inline literals) also keep the values readable
  # for offline evaluators such as tfparse.
  agent_environment  = merge(local.common_environment, local.agent_settings)
  binder_environment = merge(local.common_environment, local.binder_settings)
}

################################################################################
# Log encryption key, shared by the container, flow and WAF log groups
################################################################################

data "aws_iam_policy_document" "logs_key" {
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

  statement {
    sid = "CloudWatchLogsUse"
    actions = [
      "kms:Encrypt*",
      "kms:Decrypt*",
      "kms:ReEncrypt*",
      "kms:GenerateDataKey*",
      "kms:Describe*",
    ]
    resources = ["*"]

    principals {
      type        = "Service"
      identifiers = ["logs.${local.region}.amazonaws.com"]
    }

    # Only for log groups of this account and region.
    condition {
      test     = "ArnLike"
      variable = "kms:EncryptionContext:aws:logs:arn"
      values   = ["arn:${local.partition}:logs:${local.region}:${local.account_id}:log-group:*"]
    }
  }
}

resource "aws_kms_key" "logs" {
  description             = "Encrypts the log groups of ${var.name}"
  enable_key_rotation     = true
  deletion_window_in_days = 30
  policy                  = data.aws_iam_policy_document.logs_key.json
}

resource "aws_kms_alias" "logs" {
  name          = "alias/${var.name}-logs"
  target_key_id = aws_kms_key.logs.key_id
}

################################################################################
# Modules
################################################################################

module "network" {
  source = "./modules/network"

  name                    = var.name
  cidr_block              = var.vpc_cidr_block
  az_count                = var.az_count
  single_nat_gateway      = var.single_nat_gateway
  enable_vpc_endpoints    = var.enable_vpc_endpoints
  flow_log_retention_days = var.log_retention_days
  log_kms_key_arn         = aws_kms_key.logs.arn
}

module "ecr" {
  source = "./modules/ecr"

  repository_names = [local.agent_repository, local.binder_repository]
}

module "identity" {
  source = "./modules/agentcore_identity"

  workload_name                      = var.workload_name
  session_binding_url                = local.session_binding_url
  credential_providers               = var.credential_providers
  credential_provider_client_secrets = var.credential_provider_client_secrets
  manage_token_vault_cmk             = var.manage_token_vault_cmk
  token_vault_kms_key_arn            = var.token_vault_kms_key_arn
  deletion_protection                = var.deletion_protection
}

module "alb" {
  source = "./modules/alb"

  name              = var.name
  vpc_id            = module.network.vpc_id
  public_subnet_ids = module.network.public_subnet_ids
  ingress_cidr_ipv4 = var.ingress_cidr_ipv4

  domain_name         = var.domain_name
  route53_zone_id     = var.route53_zone_id
  certificate_arn     = var.certificate_arn
  deletion_protection = var.deletion_protection

  entra_tenant_id    = var.entra_tenant_id
  oidc_client_id     = var.oidc_client_id
  oidc_client_secret = var.oidc_client_secret

  session_binding_path = var.session_binding_path
  target_port          = var.container_port

  enable_waf             = var.enable_waf
  waf_log_retention_days = var.log_retention_days
  log_kms_key_arn        = aws_kms_key.logs.arn
}

resource "aws_ecs_cluster" "this" {
  name = var.name

  setting {
    name  = "containerInsights"
    value = "enabled"
  }
}

################################################################################
# Task role of the agent: the identity module's document plus the one configured model
################################################################################

data "aws_iam_policy_document" "agent_model" {
  # Converse and ConverseStream are authorized as InvokeModel and
  # InvokeModelWithResponseStream.
  statement {
    sid = "InvokeConfiguredModel"
    actions = [
      "bedrock:InvokeModel",
      "bedrock:InvokeModelWithResponseStream",
    ]
    resources = [
      local.bedrock_is_inference_profile ? local.bedrock_inference_profile_arn : local.bedrock_foundation_model_arn,
    ]
  }
}

# A cross-region inference profile routes each call to the model in one of its regions, so
# the model ARN needs a region wildcard; the condition allows it only through the profile.
data "aws_iam_policy_document" "agent_model_via_profile" {
  count = local.bedrock_is_inference_profile ? 1 : 0

  statement {
    sid = "InvokeModelThroughProfile"
    actions = [
      "bedrock:InvokeModel",
      "bedrock:InvokeModelWithResponseStream",
    ]
    resources = ["arn:${local.partition}:bedrock:*::foundation-model/${local.bedrock_base_model_id}"]

    condition {
      test     = "StringEquals"
      variable = "bedrock:InferenceProfileArn"
      values   = [local.bedrock_inference_profile_arn]
    }
  }
}

data "aws_iam_policy_document" "agent_task" {
  source_policy_documents = concat(
    [module.identity.agent_policy_json, data.aws_iam_policy_document.agent_model.json],
    data.aws_iam_policy_document.agent_model_via_profile[*].json,
  )
}

################################################################################
# Services
################################################################################

module "agent_service" {
  source = "./modules/ecs_service"

  name         = "${var.name}-agent"
  cluster_arn  = aws_ecs_cluster.this.arn
  cluster_name = aws_ecs_cluster.this.name
  vpc_id       = module.network.vpc_id
  subnet_ids   = module.network.private_subnet_ids

  image              = "${module.ecr.repository_urls[local.agent_repository]}@${var.agent_image_digest}"
  ecr_repository_arn = module.ecr.repository_arns[local.agent_repository]
  container_port     = var.container_port
  environment        = local.agent_environment

  task_role_policy_json = data.aws_iam_policy_document.agent_task.json

  alb_security_group_id   = module.alb.security_group_id
  alb_arn_suffix          = module.alb.arn_suffix
  target_group_arn        = module.alb.agent_target_group_arn
  target_group_arn_suffix = module.alb.agent_target_group_arn_suffix

  min_capacity       = var.service_min_capacity
  max_capacity       = var.service_max_capacity
  log_retention_days = var.log_retention_days
  log_kms_key_arn    = aws_kms_key.logs.arn
}

module "binder_service" {
  source = "./modules/ecs_service"

  name         = "${var.name}-binder"
  cluster_arn  = aws_ecs_cluster.this.arn
  cluster_name = aws_ecs_cluster.this.name
  vpc_id       = module.network.vpc_id
  subnet_ids   = module.network.private_subnet_ids

  image              = "${module.ecr.repository_urls[local.binder_repository]}@${var.binder_image_digest}"
  ecr_repository_arn = module.ecr.repository_arns[local.binder_repository]
  container_port     = var.container_port
  environment        = local.binder_environment

  task_role_policy_json = module.identity.binder_policy_json

  alb_security_group_id   = module.alb.security_group_id
  alb_arn_suffix          = module.alb.arn_suffix
  target_group_arn        = module.alb.binder_target_group_arn
  target_group_arn_suffix = module.alb.binder_target_group_arn_suffix

  min_capacity       = var.service_min_capacity
  max_capacity       = var.service_max_capacity
  log_retention_days = var.log_retention_days
  log_kms_key_arn    = aws_kms_key.logs.arn
}
