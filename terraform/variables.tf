################################################################################
# Placement
################################################################################

variable "region" {
  description = "AWS region of the stack; AgentCore Identity and the Bedrock model must be offered there."
  type        = string

  validation {
    condition     = can(regex("^[a-z]{2}(-gov)?-[a-z]+-[0-9]$", var.region))
    error_message = "region must be an AWS region name such as eu-west-1."
  }
}

variable "name" {
  description = "Name of the stack and prefix of its resources (lower case letters, digits and hyphens, 1 to 16 characters)."
  type        = string
  default     = "ai-agents"

  validation {
    condition     = can(regex("^[a-z0-9][a-z0-9-]{0,15}$", var.name))
    error_message = "name must be 1 to 16 lower case letters, digits or hyphens, starting with a letter or digit."
  }
}

variable "tags" {
  description = "Tags added to every resource through the provider's default_tags."
  type        = map(string)
  default     = {}
}

variable "deletion_protection" {
  description = "Determines whether the load balancer and the pending-flow table are protected against deletion."
  type        = bool
  default     = true
}

################################################################################
# Network
################################################################################

variable "vpc_cidr_block" {
  description = "IPv4 CIDR block of the VPC."
  type        = string
  default     = "10.40.0.0/16"
}

variable "az_count" {
  description = "Number of availability zones: 2 or 3."
  type        = number
  default     = 2
}

variable "single_nat_gateway" {
  description = "Determines whether one NAT gateway is shared by every zone instead of one per zone."
  type        = bool
  default     = false
}

variable "enable_vpc_endpoints" {
  description = "Determines whether the VPC endpoints (ECR, CloudWatch Logs, STS, Secrets Manager, Bedrock runtime, AgentCore, S3, DynamoDB) are created."
  type        = bool
  default     = true
}

variable "log_retention_days" {
  description = "Days CloudWatch Logs keeps the container, flow and WAF logs."
  type        = number
  default     = 365
}

################################################################################
# Load balancer and sign-in
################################################################################

variable "domain_name" {
  description = "Host name users browse to, such as agents.example.com."
  type        = string
}

variable "route53_zone_id" {
  description = "Public Route 53 hosted zone of domain_name, for the certificate and the alias record; null to manage DNS elsewhere."
  type        = string
  default     = null
}

variable "certificate_arn" {
  description = "ACM certificate for domain_name; null requests one and validates it in route53_zone_id."
  type        = string
  default     = null
}

variable "ingress_cidr_ipv4" {
  description = "IPv4 CIDR blocks allowed to reach the load balancer."
  type        = list(string)
  default     = ["0.0.0.0/0"]
}

variable "enable_waf" {
  description = "Determines whether a WAF web ACL protects the load balancer."
  type        = bool
  default     = true
}

variable "entra_tenant_id" {
  description = "Directory (tenant) id of the Entra ID tenant that signs users in."
  type        = string

  validation {
    condition     = can(regex("^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$", var.entra_tenant_id))
    error_message = "entra_tenant_id must be a GUID in lower case (xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx)."
  }
}

variable "oidc_client_id" {
  description = "Application (client) id of the Entra ID app registration the load balancer signs users in with."
  type        = string

  validation {
    condition     = can(regex("^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$", var.oidc_client_id))
    error_message = "oidc_client_id must be a GUID in lower case (xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx)."
  }
}

variable "oidc_client_secret" {
  description = "Client secret of the Entra ID app registration. Supply it as TF_VAR_oidc_client_secret, never in a file; the AWS provider stores it in the state."
  type        = string
  sensitive   = true
}

variable "session_binding_path" {
  description = "Path of the binder's session binding URL."
  type        = string
  default     = "/oauth2/session-binding"
}

variable "post_binding_path" {
  description = "Same-origin path the binder sends the browser to after binding."
  type        = string
  default     = "/"

  validation {
    condition     = can(regex("^/[A-Za-z0-9._~/-]*$", var.post_binding_path)) && !startswith(var.post_binding_path, "//")
    error_message = "post_binding_path must be a same-origin path: it starts with a single / and contains only letters, digits and . _ ~ / -."
  }
}

variable "user_id_prefix" {
  description = "Prefix of the user ids the services derive from the sign-in's sub claim."
  type        = string
  default     = "entra+"

  validation {
    condition     = can(regex("^[A-Za-z0-9+._-]{0,32}$", var.user_id_prefix))
    error_message = "user_id_prefix must be at most 32 letters, digits or + . _ - characters."
  }
}

################################################################################
# AgentCore Identity
################################################################################

variable "workload_name" {
  description = "Name of the workload identity the agent acts as."
  type        = string
}

variable "credential_providers" {
  description = "OAuth2 credential providers keyed by name; see modules/agentcore_identity for the fields."
  type = map(object({
    vendor              = string
    client_id           = string
    credentials_version = optional(number, 1)
    discovery_url       = optional(string)
  }))
}

variable "credential_provider_client_secrets" {
  description = "Client secrets of the credential providers, keyed like credential_providers. Supply as TF_VAR_credential_provider_client_secrets='{\"github\":\"...\"}'; ephemeral, so never in plan or state."
  type        = map(string)
  sensitive   = true
  ephemeral   = true
}

variable "agent_credential_provider" {
  description = "Name (a key of credential_providers) of the provider the agent asks tokens from."
  type        = string

  validation {
    condition     = contains(keys(var.credential_providers), var.agent_credential_provider)
    error_message = "agent_credential_provider must be one of the keys of credential_providers."
  }
}

variable "agent_credential_provider_scopes" {
  description = "OAuth scopes the agent asks the external service for (for MicrosoftOauth2 the agent adds offline_access itself, for refresh tokens)."
  type        = list(string)
  default     = ["repo", "read:user"]

  validation {
    condition     = length(var.agent_credential_provider_scopes) > 0 && alltrue([for s in var.agent_credential_provider_scopes : can(regex("^[\\x21-\\x7e]{1,128}$", s)) && !strcontains(s, ",")])
    error_message = "agent_credential_provider_scopes must list at least one scope of 1 to 128 printable characters without spaces or commas."
  }
}

variable "external_api_base_url" {
  description = "Base URL of the external service's API the agent calls with the user's token."
  type        = string
  default     = "https://api.github.com"

  validation {
    condition     = startswith(var.external_api_base_url, "https://")
    error_message = "external_api_base_url must be an https:// URL."
  }
}

variable "manage_token_vault_cmk" {
  description = "Determines whether this stack sets the customer managed key of the account's default token vault (one stack per account and region)."
  type        = bool
  default     = true
}

variable "token_vault_kms_key_arn" {
  description = "With manage_token_vault_cmk = false: ARN of the key the stack that manages the account's default token vault set on it (its token_vault_kms_key_arn output), so that this stack's tasks may use it."
  type        = string
  default     = null
}

################################################################################
# Model and containers
################################################################################

variable "bedrock_model_id" {
  description = "Bedrock model id or system inference profile id (such as eu.<provider>.<model>) the agent invokes; the task role may invoke this one only."
  type        = string

  validation {
    condition     = can(regex("^[a-z0-9-]+\\.[A-Za-z0-9.:_-]+$", var.bedrock_model_id))
    error_message = "bedrock_model_id must be a Bedrock model id such as <provider>.<model>-v1:0, or an inference profile id such as eu.<provider>.<model>-v1:0."
  }
}

variable "agent_image_digest" {
  description = "Digest (sha256:<64 hex>) of the agent image in the stack's agent repository."
  type        = string

  validation {
    condition     = can(regex("^sha256:[0-9a-f]{64}$", var.agent_image_digest))
    error_message = "agent_image_digest must be an image digest: sha256: followed by 64 lower case hex digits."
  }
}

variable "binder_image_digest" {
  description = "Digest (sha256:<64 hex>) of the binder image in the stack's binder repository."
  type        = string

  validation {
    condition     = can(regex("^sha256:[0-9a-f]{64}$", var.binder_image_digest))
    error_message = "binder_image_digest must be an image digest: sha256: followed by 64 lower case hex digits."
  }
}

variable "container_port" {
  description = "Port both containers listen on (their PORT setting)."
  type        = number
  default     = 8080

  validation {
    condition     = var.container_port >= 1024 && var.container_port <= 65535 && floor(var.container_port) == var.container_port
    error_message = "container_port must be a whole number from 1024 to 65535."
  }
}

variable "service_min_capacity" {
  description = "Fewest tasks of each service (at least 2, spread over the zones)."
  type        = number
  default     = 2
}

variable "service_max_capacity" {
  description = "Most tasks of each service."
  type        = number
  default     = 6
}

variable "log_level" {
  description = "LOG_LEVEL of both services."
  type        = string
  default     = "INFO"

  validation {
    condition     = contains(["DEBUG", "INFO", "WARNING", "ERROR"], var.log_level)
    error_message = "log_level must be DEBUG, INFO, WARNING or ERROR."
  }
}
