output "workload_identity_name" {
  description = "Name of the workload identity: the agent's WORKLOAD_NAME."
  value       = aws_bedrockagentcore_workload_identity.this.name
}

output "workload_identity_arn" {
  description = "ARN of the workload identity."
  value       = aws_bedrockagentcore_workload_identity.this.workload_identity_arn
}

output "allowed_return_urls" {
  description = "OAuth2 return URLs the workload identity accepts (exactly the session binding URL)."
  value       = aws_bedrockagentcore_workload_identity.this.allowed_resource_oauth2_return_urls
}

output "credential_provider_names" {
  description = "Names of the OAuth2 credential providers."
  value       = keys(local.provider_arns)
}

output "credential_provider_arns" {
  description = "ARNs of the OAuth2 credential providers, by name."
  value       = local.provider_arns
}

output "credential_provider_secret_arns" {
  description = "ARNs of the Secrets Manager secrets AgentCore keeps each provider's client secret in, by provider name."
  value       = local.provider_secret_arns
}

output "credential_provider_callback_urls" {
  description = "Not available: the AWS provider does not export a credential provider's callback URL. scripts/register_provider.py reads it (GetOauth2CredentialProvider) for registration at the external OAuth app."
  value       = null
}

output "pending_flow_table_name" {
  description = "Name of the pending-flow table: the services' PENDING_FLOW_TABLE."
  value       = aws_dynamodb_table.pending_flows.name
}

output "pending_flow_table_arn" {
  description = "ARN of the pending-flow table."
  value       = aws_dynamodb_table.pending_flows.arn
}

output "token_vault_kms_key_arn" {
  description = "ARN of the customer managed key the token vault uses and the task roles may use: this module's own, or token_vault_kms_key_arn when manage_token_vault_cmk is false."
  value       = local.token_vault_key_arn
}

output "agent_policy_json" {
  description = "IAM policy document the agent's task role needs: workload access tokens, OAuth2 tokens, the pending-flow table."
  value       = data.aws_iam_policy_document.agent.json
}

output "binder_policy_json" {
  description = "IAM policy document the binder's task role needs: completing the session binding, the pending-flow table."
  value       = data.aws_iam_policy_document.binder.json
}
