variable "workload_name" {
  description = "Name of the workload identity (the agent's WORKLOAD_NAME): 3 to 255 letters, digits, underscores, dots or hyphens."
  type        = string

  validation {
    condition     = can(regex("^[A-Za-z0-9_.-]{3,255}$", var.workload_name))
    error_message = "workload_name must match [A-Za-z0-9_.-]{3,255}: 3 to 255 letters, digits, underscores, dots or hyphens."
  }
}

variable "session_binding_url" {
  description = "Public https URL of the binder's session binding endpoint: the only allowed OAuth2 return URL, and the agent's SESSION_BINDING_URL."
  type        = string

  validation {
    condition     = can(regex("^https://[a-z0-9.-]+(:[0-9]+)?/[A-Za-z0-9._~/-]*$", var.session_binding_url)) && length(var.session_binding_url) <= 2048
    error_message = "session_binding_url must be an https:// URL with a host and a path, without query or fragment, at most 2048 characters."
  }
}

variable "credential_providers" {
  description = <<-EOT
    OAuth2 credential providers, one per external service, keyed by provider name
    ([a-zA-Z0-9_-]{1,128}). vendor is GithubOauth2, MicrosoftOauth2, GoogleOauth2 or
    CustomOauth2 (which needs discovery_url). client_id is the OAuth app's client id; its
    secret comes from credential_provider_client_secrets under the same key. Raise
    credentials_version to send a changed id or secret.
  EOT
  type = map(object({
    vendor              = string
    client_id           = string
    credentials_version = optional(number, 1)
    discovery_url       = optional(string)
  }))

  validation {
    condition     = length(var.credential_providers) > 0
    error_message = "credential_providers must define at least one provider."
  }

  validation {
    condition     = alltrue([for name, p in var.credential_providers : can(regex("^[a-zA-Z0-9_-]{1,128}$", name))])
    error_message = "credential_providers keys are provider names and must match [a-zA-Z0-9\\-_]{1,128}: 1 to 128 letters, digits, hyphens or underscores."
  }

  validation {
    condition     = alltrue([for p in var.credential_providers : contains(["GithubOauth2", "MicrosoftOauth2", "GoogleOauth2", "CustomOauth2"], p.vendor)])
    error_message = "credential_providers vendor must be GithubOauth2, MicrosoftOauth2, GoogleOauth2 or CustomOauth2."
  }

  validation {
    condition     = alltrue([for p in var.credential_providers : p.vendor != "CustomOauth2" || startswith(coalesce(p.discovery_url, "missing"), "https://")])
    error_message = "credential_providers of vendor CustomOauth2 must set discovery_url to an https:// OpenID configuration URL."
  }

  validation {
    condition     = alltrue([for p in var.credential_providers : length(p.client_id) > 0 && p.credentials_version >= 1])
    error_message = "credential_providers client_id must not be empty and credentials_version must be at least 1."
  }
}

variable "credential_provider_client_secrets" {
  description = "Client secrets of the credential providers, keyed like credential_providers. Ephemeral: sent to AgentCore through write-only arguments, never stored in plan or state. Supply through TF_VAR_credential_provider_client_secrets."
  type        = map(string)
  sensitive   = true
  ephemeral   = true

  validation {
    condition     = alltrue([for name in keys(var.credential_providers) : length(lookup(var.credential_provider_client_secrets, name, "")) > 0])
    error_message = "credential_provider_client_secrets must hold a non-empty secret for every key of credential_providers."
  }
}

variable "pending_flow_table_name" {
  description = "Name of the pending-flow DynamoDB table; null names it <workload_name>-pending-flows."
  type        = string
  default     = null

  validation {
    condition     = var.pending_flow_table_name == null || can(regex("^[A-Za-z0-9_.-]{3,255}$", var.pending_flow_table_name))
    error_message = "pending_flow_table_name must be null or 3 to 255 letters, digits, underscores, dots or hyphens."
  }
}

variable "manage_token_vault_cmk" {
  description = "Determines whether this module points the account's default token vault at its customer managed key. Only one stack per account and region may do so."
  type        = bool
  default     = true
}

variable "token_vault_kms_key_arn" {
  description = "Only with manage_token_vault_cmk = false: ARN of the customer managed key another stack set on the account's default token vault, which the task roles must be able to use. Leave null when this module manages the key."
  type        = string
  default     = null

  validation {
    condition     = var.manage_token_vault_cmk ? var.token_vault_kms_key_arn == null : can(regex("^arn:aws[a-z-]*:kms:[a-z0-9-]+:[0-9]{12}:key/[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$", coalesce(var.token_vault_kms_key_arn, "missing")))
    error_message = "token_vault_kms_key_arn must be null when manage_token_vault_cmk is true, and otherwise the ARN of the single-Region KMS key the account's default token vault uses (arn:<partition>:kms:<region>:<account>:key/<key id>)."
  }
}

variable "deletion_protection" {
  description = "Determines whether the pending-flow table is protected against deletion."
  type        = bool
  default     = true
}

variable "tags" {
  description = "Tags added to the resources that support them."
  type        = map(string)
  default     = {}
}
