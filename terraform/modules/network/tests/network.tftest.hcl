# Plan-level checks of the subnets, the NAT layout and the flow logs.
# Needs the hashicorp/aws provider to be installable (terraform init), as in GitHub CI.

mock_provider "aws" {
  mock_data "aws_availability_zones" {
    defaults = {
      names = ["eu-west-1a", "eu-west-1b", "eu-west-1c"]
    }
  }

  mock_data "aws_region" {
    defaults = {
      region = "eu-west-1"
    }
  }

  mock_data "aws_caller_identity" {
    defaults = {
      account_id = "111122223333"
    }
  }

  mock_data "aws_iam_policy_document" {
    defaults = {
      json = "{\"Version\":\"2012-10-17\",\"Statement\":[]}"
    }
  }
}

variables {
  name            = "test"
  log_kms_key_arn = "arn:aws:kms:eu-west-1:111122223333:key/00000000-0000-0000-0000-000000000001"
}

run "two_zones_with_a_nat_gateway_each" {
  command = plan

  assert {
    condition     = length(aws_subnet.public) == 2 && length(aws_subnet.private) == 2 && length(aws_nat_gateway.this) == 2
    error_message = "Two zones must get a public and a private subnet and a NAT gateway each."
  }

  assert {
    condition     = alltrue([for s in aws_subnet.public : s.map_public_ip_on_launch == false])
    error_message = "No subnet may hand out public addresses on its own."
  }

  assert {
    condition     = aws_flow_log.this.traffic_type == "ALL"
    error_message = "Flow logs must record accepted and rejected traffic."
  }
}

run "three_zones_can_share_one_nat_gateway" {
  command = plan

  variables {
    az_count           = 3
    single_nat_gateway = true
  }

  assert {
    condition     = length(aws_subnet.private) == 3 && length(aws_nat_gateway.this) == 1
    error_message = "single_nat_gateway must create one NAT gateway for all zones."
  }
}

run "endpoints_can_be_turned_off" {
  command = plan

  variables {
    enable_vpc_endpoints = false
  }

  assert {
    condition     = length(aws_vpc_endpoint.interface) == 0 && length(aws_vpc_endpoint.gateway) == 0
    error_message = "enable_vpc_endpoints = false must create no endpoint."
  }
}

run "four_zones_are_refused" {
  command = plan

  variables {
    az_count = 4
  }

  expect_failures = [var.az_count]
}

run "too_large_a_cidr_block_is_refused" {
  command = plan

  variables {
    cidr_block = "10.0.0.0/8"
  }

  expect_failures = [var.cidr_block]
}
