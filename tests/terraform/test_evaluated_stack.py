"""Check 3: safety properties of the root module, evaluated with the example variables.

tfparse resolves modules, variables, locals and for_each (see stack_properties for how the
values the provider would compute are handled). Each property is asserted on the project's
root module, on ../fixtures/stack_secure (which must pass) and on ../fixtures/stack_insecure,
which plants one defect per property and must be caught.
"""

from __future__ import annotations

import pytest

from scripts import tfschema

from . import stack_properties as sp
from .conftest import FIXTURES, TERRAFORM_DIR, report_count, terraform_files

SCHEMA = tfschema.load_schema()


def _task_roles(stack):
    return sp.task_role_violations(stack)[0]


# (id, property, the insecure fixture's violations, each as a substring of one message)
PROPERTIES = [
    (
        "listener-rules-authenticate-before-forwarding",
        sp.listener_rule_violations,
        ["aws_lb_listener_rule.open_binder: forwards without authenticate-oidc"],
    ),
    (
        "api-paths-deny-unauthenticated-requests",
        sp.api_rule_violations,
        ["aws_lb_listener_rule.this[\"api\"]: on_unauthenticated_request is 'authenticate'"],
    ),
    (
        "tasks-have-no-public-ip",
        sp.public_ip_violations,
        ['aws_ecs_service.this["binder"]: assign_public_ip is true'],
    ),
    (
        "task-security-group-admits-only-the-alb",
        sp.task_ingress_violations,
        [
            "aws_vpc_security_group_ingress_rule.anywhere: source is not the ALB security group",
            "aws_vpc_security_group_ingress_rule.anywhere: admits cidr_ipv4 0.0.0.0/0",
        ],
    ),
    (
        "return-urls-are-exactly-the-agents-session-binding-url",
        sp.return_url_violations,
        ["aws_bedrockagentcore_workload_identity.this: allowed_resource_oauth2_return_urls"],
    ),
    (
        "session-binding-path-routes-to-the-binder",
        sp.binding_route_violations,
        ["aws_lb_listener_rule.binding_to_agent: the first rule for /oauth2/session-binding"],
    ),
    (
        "task-roles-hold-exactly-their-agentcore-actions",
        _task_roles,
        [
            "aws_iam_role_policy.agent: wildcard action bedrock-agentcore:*",
            "aws_iam_role_policy.binder: bedrock-agentcore:CompleteResourceTokenAuth, "
            "bedrock-agentcore:GetResourceOauth2Token on *",
            "(agent): AgentCore actions ['bedrock-agentcore:*', ",
            "(binder): AgentCore actions ['bedrock-agentcore:CompleteResourceTokenAuth', "
            "'bedrock-agentcore:GetResourceOauth2Token']",
        ],
    ),
    (
        "agentcore-actions-on-exact-arns",
        sp.agentcore_arn_violations,
        [
            'aws_ecs_service.this["binder"]: bedrock-agentcore:CompleteResourceTokenAuth on '
            "['other *'], expected",
            'aws_ecs_service.this["binder"]: bedrock-agentcore:GetResourceOauth2Token on '
            "['other *'], expected",
        ],
    ),
    (
        "secrets-reach-only-secret-arguments",
        sp.secret_flow_violations,
        ['aws_ecs_task_definition.this["agent"].container_definitions: a secret reaches'],
    ),
]
IDS = [p[0] for p in PROPERTIES]
# Properties of the project only: the fixture stacks have no WAF.
PROJECT_ONLY = [("alb-has-a-web-acl-with-known-bad-inputs-rules", sp.waf_violations, [])]


@pytest.fixture(scope="module")
def project_stack():
    assert (TERRAFORM_DIR / "main.tf").exists(), "no root module in terraform/"
    return sp.load_stack(TERRAFORM_DIR, "terraform.tfvars.example", SCHEMA)


@pytest.fixture(scope="module")
def secure_stack():
    return sp.load_stack(FIXTURES / "stack_secure", "terraform.tfvars.example", SCHEMA)


@pytest.fixture(scope="module")
def insecure_stack():
    return sp.load_stack(FIXTURES / "stack_insecure", "terraform.tfvars.example", SCHEMA)


@pytest.mark.parametrize(
    ("name", "check", "_expected"),
    PROPERTIES + PROJECT_ONLY,
    ids=IDS + [p[0] for p in PROJECT_ONLY],
)
def test_project_root_module_has_property(request, project_stack, name, check, _expected):
    result = check(project_stack)

    report_count(request, f"evaluated {name}: {result.checked} checked")
    assert result.violations == []
    assert result.checked > 0


@pytest.mark.parametrize(("name", "check", "_expected"), PROPERTIES, ids=IDS)
def test_secure_fixture_has_property(secure_stack, name, check, _expected):
    result = check(secure_stack)

    assert result.violations == []
    assert result.checked > 0


@pytest.mark.parametrize(("name", "check", "expected"), PROPERTIES, ids=IDS)
def test_planted_defect_is_caught(insecure_stack, name, check, expected):
    violations = check(insecure_stack).violations

    for fragment in expected:
        assert any(fragment in v for v in violations), f"{fragment!r} not in {violations}"
    assert len(violations) == len(expected) or name.startswith("secrets"), violations


def test_project_task_roles_print_their_actions(request, project_stack):
    result, actions = sp.task_role_violations(project_stack)

    for service, allowed in sorted(actions.items()):
        report_count(request, f"task role {service}: {', '.join(allowed)}")
    for note in sorted(set(result.notes)):
        report_count(request, f"task roles, checked in the source: {note}")
    assert result.violations == []


def test_project_secret_variables_are_sensitive_and_never_literals(request):
    files = terraform_files("*.tf")
    assert files, f"no .tf files under {TERRAFORM_DIR}"

    result = sp.secret_declaration_violations(
        TERRAFORM_DIR, files, TERRAFORM_DIR / "terraform.tfvars.example"
    )

    report_count(
        request, f"secrets: {result.checked} secret variables, {len(files) + 1} files scanned"
    )
    assert result.violations == []


def test_secure_fixture_secret_declarations_pass():
    root = FIXTURES / "stack_secure"

    result = sp.secret_declaration_violations(
        root, [root / "main.tf"], root / "terraform.tfvars.example"
    )

    assert result.violations == []


def test_insecure_fixture_secret_declarations_are_caught():
    root = FIXTURES / "stack_insecure"

    result = sp.secret_declaration_violations(
        root, [root / "main.tf"], root / "terraform.tfvars.example"
    )

    assert [v.split(": ", 1)[1] for v in result.violations] == [
        "variable oidc_client_secret is not sensitive",
        "variable oidc_client_secret has a default",
        "aws_bedrockagentcore_oauth2_credential_provider.github.oauth2_provider_config[0]"
        ".github_oauth2_provider_config[0]: client_secret is the literal 'fixt'...",
    ]


def test_computed_reference_is_rewritten_to_the_blocks_id():
    text = (
        "a = aws_bedrockagentcore_workload_identity.this.workload_identity_arn\n"
        'b = aws_lb.this["x"].dns_name\n'
        "c = aws_lb.this.name\n"
        "d = data.aws_iam_policy_document.p.json\n"
        "e = module.x.aws_lb\n"
    )

    written = {("resource", "aws_lb", "this"): {"name"}}

    assert sp.rewrite_computed_references(text, SCHEMA, written) == (
        "a = aws_bedrockagentcore_workload_identity.this.id\n"
        'b = aws_lb.this["x"].id\n'
        "c = aws_lb.this.name\n"
        "d = data.aws_iam_policy_document.p.json\n"
        "e = module.x.aws_lb\n"
    )


def test_unset_optional_and_generic_computed_names_are_rewritten_but_not_variables():
    written = {("data", "aws_region", "current"): set(), ("resource", "aws_lb", "this"): {"name"}}
    text = (
        "a = data.aws_region.current.region\n"
        "b = aws_lb.this.name\n"
        "c = { for k, r in aws_ecr_repository.this : k => r.repository_url }\n"
        "d = var.repository_url\n"
        "e = aws_lb.this.internal\n"
        "f = one(p.client_secret_arn[*].secret_arn)\n"
    )

    assert sp.rewrite_computed_references(text, SCHEMA, written) == (
        "a = data.aws_region.current.id\n"
        "b = aws_lb.this.name\n"
        "c = { for k, r in try(aws_ecr_repository.this, {}) : k => r.id }\n"
        "d = var.repository_url\n"
        "e = aws_lb.this.id\n"
        "f = one(p[*].id)\n"
    )


def test_example_tfvars_sets_declared_variables_and_every_required_one_but_the_secrets(request):
    declared = sp.declared_variables(TERRAFORM_DIR)
    example = sp.read_hcl(TERRAFORM_DIR / "terraform.tfvars.example")
    required = {name for name, spec in declared.items() if "default" not in spec}

    report_count(
        request, f"example tfvars: {len(example)} values for {len(declared)} root variables"
    )
    assert sorted(set(example) - set(declared)) == []
    # What the example leaves out is exactly the secrets, which come from the environment.
    assert sorted(required - set(example)) == sorted(
        name for name in required if sp.is_secret_name(name)
    )


def test_statement_that_did_not_evaluate_is_read_from_its_source(tmp_path):
    (tmp_path / "main.tf").write_text(
        'data "aws_iam_policy_document" "x" {\n'
        "  statement {\n"
        '    actions   = ["secretsmanager:GetSecretValue"]\n'
        '    resources = [for s in local.secrets : "${s}*"]\n'
        "  }\n"
        "}\n",
        encoding="utf-8",
    )
    stack = sp.Stack({}, {}, tmp_path)
    statement = {"__tfmeta": {"filename": "main.tf", "line_start": 2, "line_end": 5}}

    assert sp._unevaluated(stack, statement) == (
        "<unevaluated main.tf:2-5 with * in a quoted string>"
    )
