terraform {
  # 1.11 is the first release with write-only arguments, which keep the OAuth client
  # secrets of the credential providers out of plan and state.
  required_version = ">= 1.11"

  required_providers {
    aws = {
      source  = "hashicorp/aws"
      version = ">= 6.25, < 7"
    }
  }
}
