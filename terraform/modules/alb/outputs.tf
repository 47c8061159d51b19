output "arn" {
  description = "ARN of the load balancer: the containers' ALB_ARN, the only accepted signer of x-amzn-oidc-data."
  value       = aws_lb.this.arn
}

output "arn_suffix" {
  description = "ARN suffix of the load balancer, for CloudWatch metrics and request-count scaling."
  value       = aws_lb.this.arn_suffix
}

output "dns_name" {
  description = "DNS name of the load balancer (point domain_name at it when route53_zone_id is null)."
  value       = aws_lb.this.dns_name
}

output "zone_id" {
  description = "Route 53 zone id of the load balancer, for alias records."
  value       = aws_lb.this.zone_id
}

output "security_group_id" {
  description = "ID of the load balancer's security group, the only source the task security groups admit."
  value       = aws_security_group.alb.id
}

output "https_listener_arn" {
  description = "ARN of the HTTPS listener."
  value       = aws_lb_listener.https.arn
}

# The target group ARNs are handed out only once the listener rules exist: ECS refuses to
# create a service whose target group is not yet attached to a load balancer.
output "agent_target_group_arn" {
  description = "ARN of the agent's target group (available once its listener rules exist)."
  value       = aws_lb_target_group.agent.arn

  depends_on = [aws_lb_listener_rule.agent_api, aws_lb_listener_rule.agent_page]
}

output "agent_target_group_arn_suffix" {
  description = "ARN suffix of the agent's target group, for request-count scaling."
  value       = aws_lb_target_group.agent.arn_suffix
}

output "binder_target_group_arn" {
  description = "ARN of the binder's target group (available once its listener rule exists)."
  value       = aws_lb_target_group.binder.arn

  depends_on = [aws_lb_listener_rule.session_binding]
}

output "binder_target_group_arn_suffix" {
  description = "ARN suffix of the binder's target group, for request-count scaling."
  value       = aws_lb_target_group.binder.arn_suffix
}

output "listener_rule_arns" {
  description = "ARNs of the listener rules, by name."
  value = {
    session_binding = aws_lb_listener_rule.session_binding.arn
    agent_api       = aws_lb_listener_rule.agent_api.arn
    agent_page      = aws_lb_listener_rule.agent_page.arn
  }
}

output "oidc_issuer" {
  description = "Issuer the load balancer signs users in with: the containers' OIDC_ISSUER."
  value       = local.oidc_issuer
}

output "application_url" {
  description = "URL of the agent's page."
  value       = "https://${var.domain_name}/"
}

output "redirect_uri" {
  description = "Redirect URI to register on the Entra ID app registration (Web platform)."
  value       = "https://${var.domain_name}/oauth2/idpresponse"
}

output "certificate_arn" {
  description = "ARN of the certificate the HTTPS listener serves."
  value       = local.certificate_arn
}

output "access_logs_bucket" {
  description = "Name of the S3 bucket that receives the access logs."
  value       = aws_s3_bucket.access_logs.id
}

output "web_acl_arn" {
  description = "ARN of the WAF web ACL, or null when enable_waf is false."
  value       = one(aws_wafv2_web_acl.this[*].arn)
}
