variable "name" {
  description = "Name of the load balancer and prefix of its resources (lower case letters, digits and hyphens, 1 to 20 characters)."
  type        = string

  validation {
    condition     = can(regex("^[a-z0-9][a-z0-9-]{0,19}$", var.name))
    error_message = "name must be 1 to 20 lower case letters, digits or hyphens, starting with a letter or digit."
  }
}

variable "vpc_id" {
  description = "ID of the VPC."
  type        = string

  validation {
    condition     = can(regex("^vpc-[0-9a-f]+$", var.vpc_id))
    error_message = "vpc_id must be a VPC id (vpc-<hex>)."
  }
}

variable "public_subnet_ids" {
  description = "IDs of the public subnets, in at least two availability zones."
  type        = list(string)

  validation {
    condition     = length(var.public_subnet_ids) >= 2 && alltrue([for s in var.public_subnet_ids : can(regex("^subnet-[0-9a-f]+$", s))])
    error_message = "public_subnet_ids must list at least two subnet ids (subnet-<hex>), one per availability zone."
  }
}

variable "ingress_cidr_ipv4" {
  description = "IPv4 CIDR blocks allowed to reach the load balancer on ports 443 and 80."
  type        = list(string)
  default     = ["0.0.0.0/0"]

  validation {
    condition     = length(var.ingress_cidr_ipv4) > 0 && alltrue([for c in var.ingress_cidr_ipv4 : can(cidrnetmask(c))])
    error_message = "ingress_cidr_ipv4 must list at least one IPv4 CIDR block such as 203.0.113.0/24."
  }
}

variable "domain_name" {
  description = "Host name users browse to, such as agents.example.com. Every listener rule also matches on it."
  type        = string

  validation {
    condition     = can(regex("^([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\\.)+[a-z]{2,63}$", var.domain_name))
    error_message = "domain_name must be a lower case DNS host name such as agents.example.com, without scheme, port or path."
  }
}

variable "certificate_arn" {
  description = "ARN of an ACM certificate for domain_name. When null, a certificate is requested and validated in route53_zone_id."
  type        = string
  default     = null

  validation {
    condition     = var.certificate_arn != null || var.route53_zone_id != null
    error_message = "certificate_arn or route53_zone_id must be set: without either there is no certificate for the HTTPS listener."
  }

  validation {
    condition     = var.certificate_arn == null || can(regex("^arn:aws[a-z-]*:acm:[a-z0-9-]+:[0-9]{12}:certificate/[0-9a-f-]+$", var.certificate_arn))
    error_message = "certificate_arn must be an ACM certificate ARN (arn:<partition>:acm:<region>:<account>:certificate/<id>)."
  }
}

variable "route53_zone_id" {
  description = "ID of the public Route 53 hosted zone of domain_name, for the certificate validation and the alias record. Null to manage DNS elsewhere."
  type        = string
  default     = null

  validation {
    condition     = var.route53_zone_id == null || can(regex("^Z[0-9A-Z]+$", var.route53_zone_id))
    error_message = "route53_zone_id must be a Route 53 hosted zone id (Z followed by upper case letters and digits)."
  }
}

variable "ssl_policy" {
  description = "TLS policy of the HTTPS listener. Only TLS 1.3 policies are accepted."
  type        = string
  default     = "ELBSecurityPolicy-TLS13-1-2-2021-06"

  validation {
    condition     = startswith(var.ssl_policy, "ELBSecurityPolicy-TLS13-")
    error_message = "ssl_policy must be a TLS 1.3 policy, whose name starts with ELBSecurityPolicy-TLS13-."
  }
}

variable "deletion_protection" {
  description = "Determines whether the load balancer is protected against deletion."
  type        = bool
  default     = true
}

variable "idle_timeout" {
  description = "Seconds a connection may stay idle. A model answer can take a while, so the default is above the ALB's own 60."
  type        = number
  default     = 120

  validation {
    condition     = var.idle_timeout >= 1 && var.idle_timeout <= 4000
    error_message = "idle_timeout must be between 1 and 4000 seconds."
  }
}

variable "access_log_retention_days" {
  description = "Days the access logs are kept in the bucket before they expire."
  type        = number
  default     = 90

  validation {
    condition     = var.access_log_retention_days >= 1
    error_message = "access_log_retention_days must be at least 1."
  }
}

variable "access_logs_allow_elb_account" {
  description = "Determines whether the regional Elastic Load Balancing account may also write the access logs, as regions launched before August 2022 require. Turn off in regions the provider's aws_elb_service_account does not know."
  type        = bool
  default     = true
}

variable "access_logs_force_destroy" {
  description = "Determines whether terraform destroy may delete the access logs bucket with its logs in it."
  type        = bool
  default     = false
}

variable "entra_tenant_id" {
  description = "Directory (tenant) id of the Entra ID tenant that signs users in."
  type        = string

  validation {
    condition     = can(regex("^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$", var.entra_tenant_id))
    error_message = "entra_tenant_id must be a GUID in lower case (xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx)."
  }
}

variable "entra_authority_host" {
  description = "Host of the Entra ID authority: login.microsoftonline.com, or login.microsoftonline.us for US Government."
  type        = string
  default     = "login.microsoftonline.com"

  validation {
    condition     = can(regex("^([a-z0-9-]+\\.)+[a-z]{2,63}$", var.entra_authority_host))
    error_message = "entra_authority_host must be a DNS host name such as login.microsoftonline.com, without scheme or path."
  }
}

variable "oidc_user_info_endpoint" {
  description = "User info endpoint of the IdP: https://graph.microsoft.com/oidc/userinfo for Entra ID."
  type        = string
  default     = "https://graph.microsoft.com/oidc/userinfo"

  validation {
    condition     = startswith(var.oidc_user_info_endpoint, "https://")
    error_message = "oidc_user_info_endpoint must be an https:// URL."
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
  description = "Client secret of the Entra ID app registration. Supply it through TF_VAR_oidc_client_secret; it is stored in the state, which must be encrypted."
  type        = string
  sensitive   = true

  validation {
    condition     = length(var.oidc_client_secret) > 0
    error_message = "oidc_client_secret must not be empty."
  }
}

variable "oidc_scope" {
  description = "Scopes the load balancer asks for. It must include openid."
  type        = string
  default     = "openid profile email"

  validation {
    condition     = contains(split(" ", var.oidc_scope), "openid")
    error_message = "oidc_scope must be a space-separated list of scopes that includes openid."
  }
}

variable "oidc_session_timeout" {
  description = "Seconds the load balancer's sign-in session lasts (the ALB's own default is 7 days)."
  type        = number
  default     = 28800

  validation {
    condition     = var.oidc_session_timeout >= 1 && var.oidc_session_timeout <= 604800
    error_message = "oidc_session_timeout must be between 1 and 604800 seconds (7 days)."
  }
}

variable "oidc_session_cookie_name" {
  description = "Name of the load balancer's session cookie."
  type        = string
  default     = "AWSELBAuthSessionCookie"

  validation {
    condition     = can(regex("^[A-Za-z0-9_-]{1,64}$", var.oidc_session_cookie_name))
    error_message = "oidc_session_cookie_name must be 1 to 64 letters, digits, hyphens or underscores."
  }
}

variable "session_binding_path" {
  description = "Path of the binder's session binding URL. It must match the binder's SESSION_BINDING_PATH."
  type        = string
  default     = "/oauth2/session-binding"

  validation {
    condition     = can(regex("^/[A-Za-z0-9._~/-]*$", var.session_binding_path)) && !startswith(var.session_binding_path, "/oauth2/idpresponse")
    error_message = "session_binding_path must start with / and contain only letters, digits and . _ ~ / - (no wildcards), and must not be the load balancer's /oauth2/idpresponse."
  }
}

variable "agent_api_path_patterns" {
  description = "Path patterns of the agent's API, called by fetch(): unsigned requests get 401 (1 to 4 patterns)."
  type        = list(string)
  default     = ["/api/*"]

  validation {
    condition     = length(var.agent_api_path_patterns) >= 1 && length(var.agent_api_path_patterns) <= 4 && alltrue([for p in var.agent_api_path_patterns : startswith(p, "/")])
    error_message = "agent_api_path_patterns must list 1 to 4 path patterns, each starting with /."
  }
}

variable "agent_page_path_patterns" {
  description = "Path patterns of the agent's page and its static files: unsigned visitors are sent to sign in (1 to 4 patterns)."
  type        = list(string)
  default     = ["/", "/static/*"]

  validation {
    condition     = length(var.agent_page_path_patterns) >= 1 && length(var.agent_page_path_patterns) <= 4 && alltrue([for p in var.agent_page_path_patterns : startswith(p, "/")])
    error_message = "agent_page_path_patterns must list 1 to 4 path patterns, each starting with /."
  }
}

variable "target_port" {
  description = "Port the containers listen on. Non-root containers cannot bind below 1024."
  type        = number
  default     = 8080

  validation {
    condition     = var.target_port >= 1024 && var.target_port <= 65535 && floor(var.target_port) == var.target_port
    error_message = "target_port must be a whole number from 1024 to 65535."
  }
}

variable "health_check_path" {
  description = "Path the target groups probe for health."
  type        = string
  default     = "/healthz"

  validation {
    condition     = startswith(var.health_check_path, "/")
    error_message = "health_check_path must start with /."
  }
}

variable "enable_waf" {
  description = "Determines whether a WAF web ACL (AWS managed rule groups and a per-address rate limit) protects the load balancer."
  type        = bool
  default     = true
}

variable "waf_rate_limit" {
  description = "Requests one client address may make in any 5-minute window before WAF blocks it."
  type        = number
  default     = 1000

  validation {
    condition     = var.waf_rate_limit >= 10 && var.waf_rate_limit <= 2000000000
    error_message = "waf_rate_limit must be between 10 and 2000000000 requests per 5 minutes."
  }
}

variable "waf_log_retention_days" {
  description = "Days CloudWatch Logs keeps the WAF logs (one of the values CloudWatch Logs accepts, at least 90)."
  type        = number
  default     = 365

  validation {
    condition     = contains([90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653], var.waf_log_retention_days)
    error_message = "waf_log_retention_days must be a CloudWatch Logs retention value of at least 90 days (90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288 or 3653)."
  }
}

variable "log_kms_key_arn" {
  description = "ARN of the KMS key that encrypts the WAF log group. Its key policy must let logs.<region>.amazonaws.com use it."
  type        = string

  validation {
    condition     = can(regex("^arn:aws[a-z-]*:kms:[a-z0-9-]+:[0-9]{12}:key/[0-9a-f-]+$", var.log_kms_key_arn))
    error_message = "log_kms_key_arn must be a KMS key ARN (arn:<partition>:kms:<region>:<account>:key/<id>)."
  }
}

variable "tags" {
  description = "Tags added to every resource."
  type        = map(string)
  default     = {}
}
