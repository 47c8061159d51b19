"""The provider schema check: our HCL against the schema of hashicorp/aws 6.25.0.

The schema file is derived from the pinned cdktf-cdktf-provider-aws package by
scripts/tfschema.py (`python -m scripts.tfschema generate`); see that module for how.
"""

from __future__ import annotations

import json

import pytest

from scripts import tfschema

from .conftest import FIXTURES, REPO_ROOT, TERRAFORM_DIR, report_count, terraform_files

SCHEMA = tfschema.load_schema()
ERRORS = FIXTURES / "schema_errors"

# One planted error per file: (fixture, finding kind, address of the finding).
PLANTED = [
    ("unknown_type.tf", "unknown-type", "aws_lb_listener_rules.typo"),
    ("unknown_data_source.tf", "unknown-type", "data.aws_iam_policy_documents.typo"),
    ("unknown_argument.tf", "unknown-argument", "aws_lb.this.drop_invalid_headers"),
    (
        "unknown_nested_argument.tf",
        "unknown-argument",
        "aws_ecs_service.agent.network_configuration[0].public_ip",
    ),
    ("block_as_argument.tf", "block-as-argument", "aws_lb.this.access_logs"),
    ("argument_as_block.tf", "argument-as-block", "aws_lb.this.tags"),
    (
        "missing_required_argument.tf",
        "missing-required",
        "aws_bedrockagentcore_workload_identity.this.name",
    ),
    ("missing_required_block.tf", "missing-required", "aws_lb_listener_rule.api.condition"),
    (
        "computed_only_set.tf",
        "computed-only-set",
        "aws_bedrockagentcore_workload_identity.this.workload_identity_arn",
    ),
    ("too_many_blocks.tf", "too-many-blocks", "aws_ecs_service.agent.network_configuration"),
    (
        "dynamic_unknown_block.tf",
        "unknown-argument",
        "aws_lb_listener_rule.api.dynamic[conditions]",
    ),
]


@pytest.mark.parametrize(
    ("fixture", "kind", "address"),
    PLANTED,
    ids=[name.removesuffix(".tf").replace("_", "-") for name, _, _ in PLANTED],
)
def test_planted_error_is_reported(fixture, kind, address):
    report = tfschema.check_paths([ERRORS / fixture], SCHEMA)

    assert [(f.kind, f.address) for f in report.findings] == [(kind, address)]


def test_every_error_kind_has_a_planted_fixture():
    kinds = {kind for _, kind, _ in PLANTED}

    assert kinds == {
        "unknown-type",
        "unknown-argument",
        "block-as-argument",
        "argument-as-block",
        "missing-required",
        "computed-only-set",
        "too-many-blocks",
    }
    assert sorted(p.name for p in ERRORS.glob("*.tf")) == sorted(name for name, _, _ in PLANTED)


def test_correct_fixture_with_meta_arguments_and_dynamic_blocks_passes():
    report = tfschema.check_paths([FIXTURES / "schema_valid"], SCHEMA)

    assert report.findings == []
    assert report.blocks == 7


def test_type_known_to_the_provider_but_not_kept_asks_for_regeneration(tmp_path):
    # aws_sqs_queue exists in hashicorp/aws but the project does not keep its schema.
    (tmp_path / "main.tf").write_text('resource "aws_sqs_queue" "q" {}\n', encoding="utf-8")

    report = tfschema.check_paths([tmp_path], SCHEMA)

    assert [f.kind for f in report.findings] == ["type-not-kept"]
    assert "python -m scripts.tfschema generate" in report.findings[0].detail


def test_project_terraform_matches_the_provider_schema(request):
    assert terraform_files("*.tf"), f"no .tf files under {TERRAFORM_DIR}"

    report = tfschema.check_paths([TERRAFORM_DIR], SCHEMA)

    report_count(request, report.summary())
    assert [str(f) for f in report.findings] == []
    assert report.skipped_other_providers == []


def test_schema_file_is_the_pinned_provider_version_and_small():
    path = REPO_ROOT / "tests" / "terraform" / "aws_provider_schema.json"

    assert SCHEMA["provider_version"] == "6.25.0"
    assert SCHEMA["derived_from"].startswith("cdktf-cdktf-provider-aws==21.22.1")
    assert path.stat().st_size < 1_000_000
    # Every kept type is a real one, and the lists of all names are there to tell typos apart.
    assert set(SCHEMA["resources"]) <= set(SCHEMA["resource_types"])
    assert set(SCHEMA["data_sources"]) <= set(SCHEMA["data_source_types"])
    assert len(SCHEMA["resource_types"]) > 1000


def _prop(name, tf_name, type_, *, optional=False, block=False):
    summary = f"{tf_name} block." if block else f"Docs {{@link https://x/r#{tf_name} R#{tf_name}}}."
    prop = {"name": name, "type": type_, "docs": {"summary": summary}}
    if optional:
        prop["optional"] = True
    return prop


def test_derivation_reads_required_blocks_max_items_and_computed_getters():
    # A hand-made assembly in the shape cdktf generates, so the derivation is tested without
    # downloading the 59 MB wheel.
    p = "@cdktf/provider-aws.widget."
    link = "Represents a {@link https://registry.terraform.io/providers/hashicorp/aws/6.25.0/docs"
    string = {"primitive": "string"}
    listed = {"union": {"types": [{"fqn": "cdktf.IResolvable"}, {"collection": {
        "kind": "array", "elementtype": {"fqn": p + "WidgetPart"}}}]}}  # fmt: skip
    assembly = {
        "version": "0.0.0",
        "types": {
            p + "Widget": {
                "kind": "class",
                "base": "cdktf.TerraformResource",
                "docs": {"summary": link + "/resources/widget aws_widget}."},
                "initializer": {"parameters": [{"name": "config", "type": {"fqn": p + "Cfg"}}]},
                "properties": [
                    {"name": "tfResourceType", "static": True},
                    {"name": "widgetArn"},
                    {"name": "nameInput"},
                    {"name": "name"},
                ],
            },
            p + "Cfg": {
                "properties": [
                    _prop("name", "name", string),
                    _prop("addressLine1", "address_line_1", string, optional=True),
                    _prop("settings", "settings", {"fqn": p + "WidgetSettings"}, block=True),
                    _prop("part", "part", listed, optional=True, block=True),
                ]
            },
            p + "WidgetSettings": {"properties": [_prop("mode", "mode", string)]},
            p + "WidgetPart": {"properties": [_prop("size", "size", string, optional=True)]},
            p + "WidgetPartOutputReference": {
                "properties": [{"name": "sizeInput"}, {"name": "size"}, {"name": "partId"}]
            },
            p + "Gadget": {
                "kind": "class",
                "base": "cdktf.TerraformDataSource",
                "docs": {"summary": link + "/data-sources/gadget aws_gadget}."},
            },
        },
    }

    schema = tfschema.derive(assembly, {"resource": {"aws_widget"}, "data": set()})

    assert schema["provider_version"] == "6.25.0"
    assert schema["data_source_types"] == ["aws_gadget"]
    assert json.loads(json.dumps(schema["resources"]["aws_widget"])) == {
        "attrs": {"address_line_1": "o", "name": "r", "widget_arn": "c"},
        "blocks": {
            "part": {"attrs": {"part_id": "c", "size": "o"}, "min": 0, "max": None},
            "settings": {"attrs": {"mode": "r"}, "min": 1, "max": 1},
        },
    }


def test_module_call_with_an_undeclared_input_and_a_missing_required_one_is_reported():
    report = tfschema.check_paths([FIXTURES / "module_calls" / "main.tf"], SCHEMA)

    assert report.module_calls == 2
    assert [(f.kind, f.address) for f in report.findings] == [
        ("unknown-module-input", "module.bad.prot"),
        ("missing-module-input", "module.bad.name"),
    ]
