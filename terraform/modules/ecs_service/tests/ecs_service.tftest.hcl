# Plan-level checks of the task definition, the network placement and the input validations.
# Needs the hashicorp/aws provider to be installable (terraform init), as in GitHub CI.

mock_provider "aws" {
  mock_data "aws_caller_identity" {
    defaults = {
      account_id = "111122223333"
    }
  }

  mock_data "aws_region" {
    defaults = {
      region = "eu-west-1"
    }
  }

  mock_data "aws_iam_policy_document" {
    defaults = {
      json = "{\"Version\":\"2012-10-17\",\"Statement\":[]}"
    }
  }
}

variables {
  name                    = "test-agent"
  cluster_arn             = "arn:aws:ecs:eu-west-1:111122223333:cluster/test"
  cluster_name            = "test"
  vpc_id                  = "vpc-0123456789abcdef0"
  subnet_ids              = ["subnet-0123456789abcdef0", "subnet-0123456789abcdef1"]
  image                   = "111122223333.dkr.ecr.eu-west-1.amazonaws.com/test/agent@sha256:0000000000000000000000000000000000000000000000000000000000000000"
  ecr_repository_arn      = "arn:aws:ecr:eu-west-1:111122223333:repository/test/agent"
  alb_security_group_id   = "sg-0123456789abcdef0"
  alb_arn_suffix          = "app/test/0123456789abcdef"
  target_group_arn        = "arn:aws:elasticloadbalancing:eu-west-1:111122223333:targetgroup/test-agent/0123456789abcdef"
  target_group_arn_suffix = "targetgroup/test-agent/0123456789abcdef"
  log_kms_key_arn         = "arn:aws:kms:eu-west-1:111122223333:key/00000000-0000-0000-0000-000000000001"
  task_role_policy_json   = "{\"Version\":\"2012-10-17\",\"Statement\":[{\"Effect\":\"Allow\",\"Action\":\"dynamodb:GetItem\",\"Resource\":\"arn:aws:dynamodb:eu-west-1:111122223333:table/t\"}]}"

  environment = {
    SESSION_BINDING_URL = "https://agents.example.com/oauth2/session-binding"
    PORT                = "8080"
  }
}

run "tasks_get_no_public_address_and_admit_only_the_load_balancer" {
  command = plan

  assert {
    condition     = aws_ecs_service.this.network_configuration[0].assign_public_ip == false
    error_message = "Tasks must not get a public IP address."
  }

  assert {
    condition     = aws_vpc_security_group_ingress_rule.from_alb.referenced_security_group_id == var.alb_security_group_id && aws_vpc_security_group_ingress_rule.from_alb.cidr_ipv4 == null
    error_message = "The task security group must admit the load balancer's security group only."
  }

  assert {
    condition     = aws_vpc_security_group_ingress_rule.from_alb.from_port == 8080 && aws_vpc_security_group_ingress_rule.from_alb.to_port == 8080
    error_message = "The task security group must admit the container port only."
  }
}

run "container_runs_unprivileged_on_a_read_only_root" {
  command = plan

  assert {
    condition     = jsondecode(aws_ecs_task_definition.this.container_definitions)[0].readonlyRootFilesystem == true
    error_message = "The root filesystem must be read-only."
  }

  assert {
    condition     = jsondecode(aws_ecs_task_definition.this.container_definitions)[0].user == "10001:10001" && jsondecode(aws_ecs_task_definition.this.container_definitions)[0].privileged == false
    error_message = "The container must run as a non-root user without privileges."
  }

  assert {
    condition     = one([for m in jsondecode(aws_ecs_task_definition.this.container_definitions)[0].mountPoints : m.containerPath if m.sourceVolume == "tmp"]) == "/tmp"
    error_message = "/tmp must be the writable volume."
  }

  assert {
    condition     = contains(jsondecode(aws_ecs_task_definition.this.container_definitions)[0].environment, { name = "SESSION_BINDING_URL", value = "https://agents.example.com/oauth2/session-binding" })
    error_message = "The settings must reach the container as environment variables."
  }
}

run "deployments_roll_back_and_two_tasks_stay_up" {
  command = plan

  assert {
    condition     = aws_ecs_service.this.deployment_circuit_breaker[0].enable && aws_ecs_service.this.deployment_circuit_breaker[0].rollback
    error_message = "A failed deployment must roll back."
  }

  assert {
    condition     = aws_ecs_service.this.desired_count >= 2 && aws_appautoscaling_target.this.min_capacity >= 2
    error_message = "At least two tasks must run."
  }

  assert {
    condition     = aws_appautoscaling_policy.requests.target_tracking_scaling_policy_configuration[0].predefined_metric_specification[0].resource_label == "app/test/0123456789abcdef/targetgroup/test-agent/0123456789abcdef"
    error_message = "Request-count scaling must track this service's target group."
  }
}

run "root_user_is_refused" {
  command = plan

  variables {
    container_user = "0"
  }

  expect_failures = [var.container_user]
}

run "single_task_is_refused" {
  command = plan

  variables {
    min_capacity = 1
  }

  expect_failures = [var.min_capacity]
}

run "privileged_port_is_refused" {
  command = plan

  variables {
    container_port = 443
  }

  expect_failures = [var.container_port]
}

run "image_without_tag_or_digest_is_refused" {
  command = plan

  variables {
    image = "111122223333.dkr.ecr.eu-west-1.amazonaws.com/test/agent"
  }

  expect_failures = [var.image]
}

run "policy_that_is_not_json_is_refused" {
  command = plan

  variables {
    task_role_policy_json = "allow everything"
  }

  expect_failures = [var.task_role_policy_json]
}
