variable "name" {
  description = "Name prefix of every resource (lower case letters, digits and hyphens, 1 to 20 characters)."
  type        = string

  validation {
    condition     = can(regex("^[a-z0-9][a-z0-9-]{0,19}$", var.name))
    error_message = "name must be 1 to 20 lower case letters, digits or hyphens, starting with a letter or digit."
  }
}

variable "cidr_block" {
  description = "IPv4 CIDR block of the VPC, /16 to /23. Subnets are carved from it as sixteenths (/20 in a /16)."
  type        = string
  default     = "10.40.0.0/16"

  validation {
    condition     = can(cidrhost(var.cidr_block, 0)) && can(regex("/(1[6-9]|2[0-3])$", var.cidr_block))
    error_message = "cidr_block must be an IPv4 CIDR block with a prefix length from /16 to /23 (each subnet gets a sixteenth of it, and a load balancer subnet must be at least a /27)."
  }
}

variable "az_count" {
  description = "Number of availability zones to spread the subnets over: 2 or 3."
  type        = number
  default     = 2

  validation {
    condition     = contains([2, 3], var.az_count)
    error_message = "az_count must be 2 or 3."
  }
}

variable "single_nat_gateway" {
  description = "Determines whether one NAT gateway is shared by every zone (cheaper) instead of one per zone (survives a zone outage)."
  type        = bool
  default     = false
}

variable "enable_vpc_endpoints" {
  description = "Determines whether interface endpoints (var.interface_endpoint_services) and the S3 and DynamoDB gateway endpoints are created."
  type        = bool
  default     = true
}

variable "interface_endpoint_services" {
  description = "Service name suffixes of the interface endpoints (com.amazonaws.<region>.<suffix>). Drop any that your region does not offer."
  type        = list(string)
  default = [
    "ecr.api",
    "ecr.dkr",
    "logs",
    "sts",
    "secretsmanager",
    "bedrock-runtime",
    "bedrock-agentcore",
  ]

  validation {
    condition     = alltrue([for s in var.interface_endpoint_services : can(regex("^[a-z0-9][a-z0-9.-]*$", s))])
    error_message = "interface_endpoint_services entries must be service name suffixes such as ecr.api or bedrock-runtime (lower case letters, digits, dots and hyphens)."
  }
}

variable "flow_log_retention_days" {
  description = "Days CloudWatch Logs keeps the VPC flow logs (one of the values CloudWatch Logs accepts, at least 90)."
  type        = number
  default     = 365

  validation {
    condition     = contains([90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653], var.flow_log_retention_days)
    error_message = "flow_log_retention_days must be a CloudWatch Logs retention value of at least 90 days (90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288 or 3653)."
  }
}

variable "log_kms_key_arn" {
  description = "ARN of the KMS key that encrypts the flow log group. Its key policy must let logs.<region>.amazonaws.com use it."
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
