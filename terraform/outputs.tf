output "application_url" {
  description = "URL of the agent's page."
  value       = module.alb.application_url
}

output "session_binding_url" {
  description = "The binder's session binding URL: the workload identity's only allowed return URL and the agent's SESSION_BINDING_URL."
  value       = local.session_binding_url
}

output "entra_redirect_uri" {
  description = "Redirect URI to register on the Entra ID app registration (Web platform)."
  value       = module.alb.redirect_uri
}

output "oidc_issuer" {
  description = "Issuer the load balancer signs users in with (the containers' OIDC_ISSUER)."
  value       = module.alb.oidc_issuer
}

output "aws_region" {
  description = "Region of the stack."
  value       = local.region
}

output "alb_arn" {
  description = "ARN of the load balancer (the containers' ALB_ARN)."
  value       = module.alb.arn
}

output "alb_dns_name" {
  description = "DNS name of the load balancer; point domain_name at it when route53_zone_id is null."
  value       = module.alb.dns_name
}

output "workload_identity_name" {
  description = "Name of the workload identity."
  value       = module.identity.workload_identity_name
}

output "workload_identity_arn" {
  description = "ARN of the workload identity."
  value       = module.identity.workload_identity_arn
}

output "credential_provider_names" {
  description = "Names of the OAuth2 credential providers."
  value       = module.identity.credential_provider_names
}

output "credential_providers" {
  description = "The credential providers by name: name, vendor, client id (not a secret), discovery URL and ARN, as scripts/register_provider.py reads them."
  value = {
    for name, p in var.credential_providers : name => {
      name          = name
      vendor        = p.vendor
      client_id     = p.client_id
      discovery_url = p.discovery_url
      arn           = module.identity.credential_provider_arns[name]
    }
  }
}

output "credential_provider_arns" {
  description = "ARNs of the OAuth2 credential providers, by name."
  value       = module.identity.credential_provider_arns
}

output "credential_provider_callback_urls" {
  description = "Not exported by the AWS provider (always null). Each credential provider's AgentCore callback URL must be registered at the external OAuth app: scripts/register_provider.py reads it with GetOauth2CredentialProvider."
  value       = module.identity.credential_provider_callback_urls
}

output "ecr_repository_urls" {
  description = "ECR repository URLs, by repository name (<name>/agent and <name>/binder)."
  value       = module.ecr.repository_urls
}

output "cluster_name" {
  description = "Name of the ECS cluster."
  value       = aws_ecs_cluster.this.name
}

output "agent_service_name" {
  description = "Name of the agent's ECS service."
  value       = module.agent_service.service_name
}

output "binder_service_name" {
  description = "Name of the binder's ECS service."
  value       = module.binder_service.service_name
}

output "token_vault_kms_key_arn" {
  description = "Key of the account's default token vault; another stack in this account and region sets manage_token_vault_cmk = false and token_vault_kms_key_arn to this value."
  value       = module.identity.token_vault_kms_key_arn
}

output "pending_flow_table_name" {
  description = "Name of the pending-flow DynamoDB table."
  value       = module.identity.pending_flow_table_name
}

output "agent_log_group_name" {
  description = "Log group of the agent's containers (audit events included)."
  value       = module.agent_service.log_group_name
}

output "binder_log_group_name" {
  description = "Log group of the binder's containers (audit events included)."
  value       = module.binder_service.log_group_name
}

output "nat_public_ips" {
  description = "Addresses the tasks' outbound traffic comes from."
  value       = module.network.nat_public_ips
}
