variable "repository_names" {
  description = "Names of the repositories, one per image (for example [\"ai-agents/agent\", \"ai-agents/binder\"])."
  type        = list(string)

  validation {
    condition     = length(var.repository_names) > 0 && alltrue([for n in var.repository_names : can(regex("^[a-z0-9]+([._-][a-z0-9]+)*(/[a-z0-9]+([._-][a-z0-9]+)*)*$", n)) && length(n) >= 2 && length(n) <= 256])
    error_message = "repository_names must list at least one name of 2 to 256 lower case letters, digits and . _ - / separators, as ECR requires."
  }
}

variable "keep_tagged_images" {
  description = "Number of tagged images each repository keeps; older ones expire."
  type        = number
  default     = 30

  validation {
    condition     = var.keep_tagged_images >= 1
    error_message = "keep_tagged_images must be at least 1."
  }
}

variable "kms_key_arn" {
  description = "ARN of a KMS key that encrypts the images; null uses the AWS managed key aws/ecr."
  type        = string
  default     = null

  validation {
    condition     = var.kms_key_arn == null || can(regex("^arn:aws[a-z-]*:kms:[a-z0-9-]+:[0-9]{12}:key/[0-9a-f-]+$", var.kms_key_arn))
    error_message = "kms_key_arn must be null or a KMS key ARN (arn:<partition>:kms:<region>:<account>:key/<id>)."
  }
}

variable "force_delete" {
  description = "Determines whether terraform destroy may delete repositories that still hold images."
  type        = bool
  default     = false
}

variable "tags" {
  description = "Tags added to every repository."
  type        = map(string)
  default     = {}
}
