# Remote state. The state holds the load balancer's OIDC client secret (the AWS provider has
# no write-only form of it), so keep it in an encrypted bucket that only the deployers can
# read. Uncomment, fill in, then run terraform init -migrate-state.
#
# terraform {
#   backend "s3" {
#     bucket       = "example-terraform-state"
#     key          = "ai-agents/terraform.tfstate"
#     region       = "eu-west-1"
#     encrypt      = true
#     kms_key_id   = "arn:aws:kms:eu-west-1:111122223333:key/00000000-0000-0000-0000-000000000000"
#     use_lockfile = true
#   }
# }
