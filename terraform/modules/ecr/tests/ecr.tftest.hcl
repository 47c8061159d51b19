# Plan-level checks of the repositories. Needs the hashicorp/aws provider to be installable
# (terraform init), as in GitHub CI.

mock_provider "aws" {}

variables {
  repository_names = ["test/agent", "test/binder"]
}

run "repositories_are_immutable_and_scanned" {
  command = plan

  assert {
    condition     = alltrue([for r in aws_ecr_repository.this : r.image_tag_mutability == "IMMUTABLE" && r.image_scanning_configuration[0].scan_on_push])
    error_message = "Every repository must have immutable tags and scan on push."
  }

  assert {
    condition     = length(aws_ecr_lifecycle_policy.this) == 2
    error_message = "Every repository must have a lifecycle policy."
  }
}

run "upper_case_repository_name_is_refused" {
  command = plan

  variables {
    repository_names = ["Test/Agent"]
  }

  expect_failures = [var.repository_names]
}
