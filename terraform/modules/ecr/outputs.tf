output "repository_urls" {
  description = "Repository URLs (<account>.dkr.ecr.<region>.amazonaws.com/<name>), by repository name."
  value       = { for name, repo in aws_ecr_repository.this : name => repo.repository_url }
}

output "repository_arns" {
  description = "Repository ARNs, by repository name."
  value       = { for name, repo in aws_ecr_repository.this : name => repo.arn }
}
