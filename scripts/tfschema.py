"""Offline schema check for the Terraform in this repository.

`terraform validate` needs the AWS provider plugin, which this machine cannot download. The
prebuilt CDK for Terraform bindings on PyPI carry the provider's schema in their jsii assembly,
so this tool derives a compact schema from that one pinned package and checks our HCL against it.

    python -m scripts.tfschema generate [--wheel PATH] [--scan terraform]
        Rebuild tests/terraform/aws_provider_schema.json from cdktf-cdktf-provider-aws==21.22.1
        (hashicorp/aws 6.25.0). Without --wheel it runs `pip download --no-deps` into a temporary
        folder; nothing is installed. The file keeps every resource and data source type used
        under --scan plus the neighbours in EXTRA_TYPES, and the names of all other types so an
        unknown type can be told from one that is merely not kept.
    python -m scripts.tfschema check [PATH ...] [--json]
        Check every resource and data block of every .tf file under PATH (default terraform/)
        and print the findings and the counts. Calls of local modules are checked too: every
        input is a variable the module declares, and every variable without a default is given.

Exit codes: 0 no finding, 1 findings (or a failed download), 2 usage.

How the assembly encodes the schema (cdktf's generator, not documented as a contract):
- each resource or data source has a class whose docs link names the Terraform type, and a
  `<Class>Config` struct whose properties are the arguments; a property without `optional` is
  required;
- a nested block is a struct-typed property whose summary reads "<name> block."; a struct-typed
  property without that summary is a nested *attribute* (written `x = {...}` or `x = [...]`);
- a "block." property typed `any` is a block nested too deep for cdktf's generator (the WAF
  rule's `statement`): its contents are not checked;
- a block typed as a single struct had `MaxItems: 1` in the provider; a block typed as a list of
  structs has no recorded maximum (a plugin-framework list validator is invisible here);
- the Terraform name is the anchor of the property's registry link (`...#client_secret`);
- the class's getters that are neither a config property nor an `...Input` getter are
  computed-only attributes; the same holds for a block's `OutputReference` class.
Write-only arguments (`client_secret_wo` and friends) are ordinary optional config properties in
the assembly: they are checked like any argument, but the assembly does not say they are
write-only, so nothing here checks that they stay out of state.
"""

from __future__ import annotations

import argparse
import json
import re
import subprocess
import sys
import tarfile
import tempfile
import zipfile
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

PACKAGE = "cdktf-cdktf-provider-aws"
PACKAGE_VERSION = "21.22.1"
ASSEMBLY_PREFIX = "@cdktf/provider-aws."
REPO_ROOT = Path(__file__).resolve().parent.parent
DEFAULT_SCHEMA = REPO_ROOT / "tests" / "terraform" / "aws_provider_schema.json"
DEFAULT_SCAN = REPO_ROOT / "terraform"

# Types kept in the derived file even when no .tf uses them yet: the neighbours a change to the
# modules is likely to reach for, so a small edit does not need a regeneration.
EXTRA_TYPES = {
    "resource": {
        "aws_acm_certificate",
        "aws_acm_certificate_validation",
        "aws_appautoscaling_policy",
        "aws_appautoscaling_target",
        "aws_bedrockagentcore_oauth2_credential_provider",
        "aws_bedrockagentcore_token_vault_cmk",
        "aws_bedrockagentcore_workload_identity",
        "aws_cloudwatch_log_group",
        "aws_dynamodb_table",
        "aws_ecr_lifecycle_policy",
        "aws_ecr_repository",
        "aws_ecs_cluster",
        "aws_ecs_service",
        "aws_ecs_task_definition",
        "aws_eip",
        "aws_flow_log",
        "aws_iam_policy",
        "aws_iam_role",
        "aws_iam_role_policy",
        "aws_iam_role_policy_attachment",
        "aws_internet_gateway",
        "aws_kms_alias",
        "aws_kms_key",
        "aws_lb",
        "aws_lb_listener",
        "aws_lb_listener_rule",
        "aws_lb_target_group",
        "aws_nat_gateway",
        "aws_route",
        "aws_route53_record",
        "aws_route_table",
        "aws_route_table_association",
        "aws_s3_bucket",
        "aws_s3_bucket_lifecycle_configuration",
        "aws_s3_bucket_ownership_controls",
        "aws_s3_bucket_policy",
        "aws_s3_bucket_public_access_block",
        "aws_s3_bucket_server_side_encryption_configuration",
        "aws_s3_bucket_versioning",
        "aws_secretsmanager_secret",
        "aws_secretsmanager_secret_version",
        "aws_security_group",
        "aws_subnet",
        "aws_vpc",
        "aws_vpc_endpoint",
        "aws_vpc_security_group_egress_rule",
        "aws_vpc_security_group_ingress_rule",
        "aws_wafv2_web_acl",
        "aws_wafv2_web_acl_association",
    },
    "data": {
        "aws_availability_zones",
        "aws_caller_identity",
        "aws_iam_policy_document",
        "aws_partition",
        "aws_region",
        "aws_route53_zone",
        "aws_secretsmanager_secret",
    },
}

# Meta-arguments Terraform itself handles, per block kind; never part of a provider schema.
META_ARGUMENTS = {"count", "for_each", "depends_on", "provider"}
META_BLOCKS = {
    "resource": {"lifecycle", "provisioner", "connection"},
    "data": {"lifecycle"},
}


# --------------------------------------------------------------------------------------------
# Deriving the schema from the jsii assembly
# --------------------------------------------------------------------------------------------

_TYPE_LINK = re.compile(
    r"/providers/hashicorp/aws/([0-9.]+)/docs/(resources|data-sources)/\w+ (\w+)\}"
)
_ANCHOR = re.compile(r"#(\w+) \w+#\w+\}")


def _snake(name: str) -> str:
    # Only used for computed-only getters, which carry no registry link. Acronyms and digits
    # follow cdktf's camel-casing closely enough for the types we keep; a miss makes a set
    # computed attribute show up as "unknown argument" instead, still a finding.
    name = re.sub(r"([A-Z]+)([A-Z][a-z])", r"\1_\2", name)
    return re.sub(r"(?<=[a-z0-9])(?=[A-Z])", "_", name).lower()


def _struct_ref(type_: dict) -> tuple[str | None, bool]:
    """Return (struct fqn, is_list) for a struct or list-of-struct type, else (None, False)."""
    if "fqn" in type_ and type_["fqn"].startswith(ASSEMBLY_PREFIX):
        return type_["fqn"], False
    for member in type_.get("union", {}).get("types", []):
        element = member.get("collection", {}).get("elementtype", {})
        if element.get("fqn", "").startswith(ASSEMBLY_PREFIX):
            return element["fqn"], True
    return None, False


def _tf_name(prop: dict) -> str:
    docs = prop.get("docs", {})
    match = _ANCHOR.search(docs.get("summary", "") + " " + docs.get("remarks", ""))
    return match.group(1) if match else _snake(prop["name"])


def _computed_only(types: dict, class_fqn: str, config_props: list[dict]) -> list[str]:
    cls = types.get(class_fqn)
    if not cls:
        return []
    config_names = {p["name"] for p in config_props}
    names = []
    for prop in cls.get("properties", []):
        name = prop["name"]
        if prop.get("static") or name.endswith("Input") or name in config_names:
            continue
        if name in {"internalValue", "fqn", "creationStack"}:
            continue
        names.append(_snake(name))
    return names


def _block_schema(types: dict, struct_fqn: str, class_fqn: str) -> dict:
    """Compact schema of one block body: {"attrs": {name: "r"|"o"|"c"}, "blocks": {...}}."""
    props = types[struct_fqn].get("properties", [])
    attrs: dict[str, str] = {}
    blocks: dict[str, dict] = {}
    object_attrs: list[str] = []
    for prop in props:
        name = _tf_name(prop)
        required = not prop.get("optional")
        ref, is_list = _struct_ref(prop["type"])
        is_block = prop["docs"].get("summary", "").endswith(" block.")
        if is_block and ref is None:
            # cdktf types a block nested too deep for its generator as `any` (the WAF rule's
            # `statement`): the block is known, its contents are not checked.
            blocks[name] = {"opaque": True, "min": 0, "max": None}
            continue
        if not is_block:
            # A nested attribute (struct-typed, no "block." summary) is still an argument.
            attrs[name] = "r" if required else "o"
            if ref is not None:
                object_attrs.append(name)
            continue
        nested = _block_schema(types, ref, ref + "OutputReference")
        nested["min"] = 1 if required else 0
        nested["max"] = None if is_list else 1
        blocks[name] = nested
    for name in _computed_only(types, class_fqn, props):
        if name not in attrs and name not in blocks:
            attrs[name] = "c"
    out: dict = {"attrs": dict(sorted(attrs.items()))}
    if blocks:
        out["blocks"] = dict(sorted(blocks.items()))
    if object_attrs:
        out["object_attrs"] = sorted(object_attrs)
    return out


def _read_assembly(wheel: Path) -> dict:
    with zipfile.ZipFile(wheel) as zf:
        member = next(n for n in zf.namelist() if n.endswith(".jsii.tgz"))
        with zf.open(member) as raw, tarfile.open(fileobj=raw, mode="r:gz") as tar:
            handle = tar.extractfile("package/.jsii")
            if handle is None:
                raise RuntimeError(f"{wheel}: no package/.jsii in {member}")
            return json.load(handle)


def derive(assembly: dict, keep: dict[str, set[str]]) -> dict:
    types = assembly["types"]
    names: dict[str, list[str]] = {"resource": [], "data": []}
    kept: dict[str, dict] = {"resource": {}, "data": {}}
    provider_version = None
    for fqn, cls in types.items():
        if cls.get("kind") != "class" or cls.get("base") not in (
            "cdktf.TerraformResource",
            "cdktf.TerraformDataSource",
        ):
            continue
        match = _TYPE_LINK.search(cls.get("docs", {}).get("summary", ""))
        if not match:
            continue
        provider_version, section, tf_type = match.groups()
        kind = "resource" if section == "resources" else "data"
        names[kind].append(tf_type)
        if tf_type in keep[kind]:
            params = cls["initializer"]["parameters"]
            config = next(p["type"]["fqn"] for p in params if p["name"] == "config")
            kept[kind][tf_type] = _block_schema(types, config, fqn)
    missing = {k: sorted(keep[k] - set(names[k])) for k in keep}
    if any(missing.values()):
        raise RuntimeError(f"types asked for but not in the provider: {missing}")
    return {
        "provider": "registry.terraform.io/hashicorp/aws",
        "provider_version": provider_version,
        "derived_from": f"{PACKAGE}=={PACKAGE_VERSION} (jsii assembly {assembly['version']})",
        "regenerate": "python -m scripts.tfschema generate",
        "legend": "attrs: r required, o optional, c computed-only; blocks: min/max items "
        "(max null: no maximum recorded); object_attrs: attributes of object type",
        "resource_types": sorted(names["resource"]),
        "data_source_types": sorted(names["data"]),
        "resources": dict(sorted(kept["resource"].items())),
        "data_sources": dict(sorted(kept["data"].items())),
    }


def _download_wheel(folder: Path) -> Path:
    subprocess.run(  # noqa: S603 - fixed arguments, our own interpreter
        [
            sys.executable,
            "-m",
            "pip",
            "download",
            "--quiet",
            "--no-deps",
            "--only-binary=:all:",
            "-d",
            str(folder),
            f"{PACKAGE}=={PACKAGE_VERSION}",
        ],
        check=True,
    )
    return next(folder.glob("*.whl"))


# --------------------------------------------------------------------------------------------
# Reading HCL
# --------------------------------------------------------------------------------------------


def tf_files(root: Path) -> list[Path]:
    return sorted(p for p in root.rglob("*.tf") if ".terraform" not in p.parts)


def load_hcl(path: Path) -> dict:
    import hcl2  # imported here so `generate` works without python-hcl2

    options = hcl2.SerializationOptions(strip_string_quotes=True, with_comments=False)
    with path.open(encoding="utf-8") as handle:
        return hcl2.load(handle, serialization_options=options)


def used_types(root: Path) -> dict[str, set[str]]:
    found: dict[str, set[str]] = {"resource": set(), "data": set()}
    for path in tf_files(root):
        for kind, _type, _name, _body in iter_blocks(load_hcl(path)):
            found[kind].add(_type)
    return found


def iter_blocks(doc: dict):
    """Yield (kind, type, name, body) for each resource and data block of one parsed file."""
    for kind in ("resource", "data"):
        for entry in doc.get(kind, []):
            for tf_type, by_name in entry.items():
                for name, body in by_name.items():
                    yield kind, tf_type, name, body


# --------------------------------------------------------------------------------------------
# Checking
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Finding:
    kind: str  # unknown-type, unknown-argument, block-as-argument, argument-as-block,
    # missing-required, computed-only-set, too-many-blocks, type-not-kept, unknown-module,
    # unknown-module-input, missing-module-input
    file: str
    address: str
    detail: str

    def __str__(self) -> str:
        return f"{self.file}: {self.address}: {self.kind}: {self.detail}"


@dataclass
class Report:
    files: int = 0
    blocks: int = 0
    module_calls: int = 0
    by_type: dict[str, int] = field(default_factory=dict)
    skipped_other_providers: list[str] = field(default_factory=list)
    findings: list[Finding] = field(default_factory=list)

    def summary(self) -> str:
        return (
            f"schema check: {self.blocks} resource and data blocks of "
            f"{len(self.by_type)} types and {self.module_calls} module calls in {self.files} "
            f"files, {len(self.findings)} findings"
        )


def _is_block(value) -> bool:
    return (
        isinstance(value, list)
        and bool(value)
        and all(isinstance(v, dict) and v.get("__is_block__") for v in value)
    )


def _is_null(value) -> bool:
    return value is None or value == "${null}" or value == "null"


def _check_body(body: dict, schema: dict, where: str, top_kind: str | None, out: list) -> None:
    """Check one block body; `top_kind` is "resource"/"data" at the top level, else None."""
    attrs = schema.get("attrs", {})
    blocks = schema.get("blocks", {})
    seen_blocks: dict[str, int] = {}
    dynamic_blocks: set[str] = set()

    for key, value in body.items():
        if key.startswith("__"):
            continue
        if top_kind and key in META_ARGUMENTS and not _is_block(value):
            continue
        if top_kind and key in META_BLOCKS[top_kind] and _is_block(value):
            continue
        if key == "dynamic" and isinstance(value, list):
            for dyn in value:
                for label, spec in dyn.items():
                    if label.startswith("__") or not isinstance(spec, dict):
                        continue
                    path = f"{where}.dynamic[{label}]"
                    if label not in blocks:
                        kind = "argument-as-block" if label in attrs else "unknown-argument"
                        out.append((kind, path, f'dynamic "{label}": no such block'))
                        continue
                    dynamic_blocks.add(label)
                    if blocks[label].get("opaque"):
                        continue
                    for content in spec.get("content", []):
                        _check_body(content, blocks[label], path, None, out)
            continue
        if _is_block(value):
            if key in blocks:
                seen_blocks[key] = seen_blocks.get(key, 0) + len(value)
                if blocks[key].get("opaque"):
                    continue
                for i, item in enumerate(value):
                    _check_body(item, blocks[key], f"{where}.{key}[{i}]", None, out)
            elif key in schema.get("object_attrs", ()):
                # Terraform lets an SDKv2 provider's list-of-objects attribute be written as
                # blocks (aws_security_group's ingress). A plugin-framework nested attribute
                # does not, but the assembly cannot tell the two apart: accepted either way.
                pass
            elif key in attrs:
                out.append(
                    (
                        "argument-as-block",
                        f"{where}.{key}",
                        f"`{key}` is an argument: `{key} = ...`",
                    )
                )
            else:
                out.append(("unknown-argument", f"{where}.{key}", f"no block `{key}` here"))
            continue
        if key in attrs:
            if attrs[key] == "c":
                out.append(
                    ("computed-only-set", f"{where}.{key}", f"`{key}` is computed by the provider")
                )
        elif key in blocks:
            out.append(
                ("block-as-argument", f"{where}.{key}", f"`{key}` is a block: `{key} {{ ... }}`")
            )
        else:
            out.append(("unknown-argument", f"{where}.{key}", f"no argument `{key}` here"))

    for name, kind in attrs.items():
        if kind == "r" and (name not in body or _is_null(body[name])):
            out.append(("missing-required", f"{where}.{name}", f"argument `{name}` is required"))
    for name, spec in blocks.items():
        count = seen_blocks.get(name, 0)
        if spec.get("min", 0) > count and name not in dynamic_blocks:
            out.append(("missing-required", f"{where}.{name}", f"block `{name}` is required"))
        if spec.get("max") is not None and count > spec["max"]:
            out.append(
                (
                    "too-many-blocks",
                    f"{where}.{name}",
                    f"{count} `{name}` blocks, at most {spec['max']} allowed",
                )
            )


def check_paths(paths: list[Path], schema: dict) -> Report:
    report = Report()
    parsed: dict[Path, dict] = {}

    def parse(path: Path) -> dict:
        # Each file once per check: a module's files are read again for every call of it.
        key = path.resolve()
        if key not in parsed:
            parsed[key] = load_hcl(path)
        return parsed[key]

    kinds = {
        "resource": (set(schema["resource_types"]), schema["resources"]),
        "data": (set(schema["data_source_types"]), schema["data_sources"]),
    }
    files = sorted({f for p in paths for f in (tf_files(p) if p.is_dir() else [p])})
    for path in files:
        report.files += 1
        try:
            rel = str(path.resolve().relative_to(REPO_ROOT))
        except ValueError:
            rel = str(path)
        doc = parse(path)
        for kind, tf_type, name, body in iter_blocks(doc):
            address = f"{'data.' if kind == 'data' else ''}{tf_type}.{name}"
            if not tf_type.startswith("aws_"):
                report.skipped_other_providers.append(f"{rel}: {address}")
                continue
            report.blocks += 1
            report.by_type[tf_type] = report.by_type.get(tf_type, 0) + 1
            all_names, kept = kinds[kind]
            if tf_type not in all_names:
                word = "data source" if kind == "data" else "resource type"
                detail = f"hashicorp/aws {schema['provider_version']} has no {word} {tf_type}"
                report.findings.append(Finding("unknown-type", rel, address, detail))
                continue
            if tf_type not in kept:
                detail = "not kept in the derived schema: run python -m scripts.tfschema generate"
                report.findings.append(Finding("type-not-kept", rel, address, detail))
                continue
            raw: list = []
            _check_body(body, kept[tf_type], address, kind, raw)
            report.findings.extend(Finding(k, rel, where, d) for k, where, d in raw)
        for name, body in iter_module_calls(doc):
            report.module_calls += 1
            report.findings.extend(_check_module_call(path, rel, name, body, parse))
    return report


MODULE_META = {"source", "version", "count", "for_each", "depends_on", "providers"}


def iter_module_calls(doc: dict):
    for entry in doc.get("module", []):
        yield from entry.items()


def _check_module_call(
    path: Path, rel: str, name: str, body: dict, parse: Callable[[Path], dict]
) -> list[Finding]:
    """A call of a local module passes only inputs it declares, and every required one."""
    source = body.get("source", "")
    address = f"module.{name}"
    if not isinstance(source, str) or not source.startswith(("./", "../")):
        return []  # a registry or remote module: its variables are not here to read
    target = (path.parent / source).resolve()
    if not target.is_dir():
        return [Finding("unknown-module", rel, address, f"no module at {source}")]
    declared: dict[str, dict] = {}
    for tf in sorted(target.glob("*.tf")):
        for entry in parse(tf).get("variable", []):
            declared.update(entry)
    findings = []
    for key in body:
        if key.startswith("__") or key in MODULE_META or key in declared:
            continue
        detail = f"{source} declares no variable `{key}`"
        findings.append(Finding("unknown-module-input", rel, f"{address}.{key}", detail))
    for var, spec in declared.items():
        if "default" not in spec and var not in body:
            detail = f"variable `{var}` of {source} has no default"
            findings.append(Finding("missing-module-input", rel, f"{address}.{var}", detail))
    return findings


def load_schema(path: Path = DEFAULT_SCHEMA) -> dict:
    return json.loads(path.read_text(encoding="utf-8"))


# --------------------------------------------------------------------------------------------
# Command line
# --------------------------------------------------------------------------------------------


def _generate(args: argparse.Namespace) -> int:
    keep = {k: set(v) for k, v in EXTRA_TYPES.items()}
    if args.scan.exists():
        for kind, found in used_types(args.scan).items():
            keep[kind] |= {t for t in found if t.startswith("aws_")}
    with tempfile.TemporaryDirectory() as tmp:
        wheel = args.wheel or _download_wheel(Path(tmp))
        assembly = _read_assembly(wheel)
    schema = derive(assembly, keep)
    del assembly
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(json.dumps(schema, indent=1, sort_keys=False) + "\n", encoding="utf-8")
    print(
        f"wrote {args.output}: {len(schema['resources'])} resource and "
        f"{len(schema['data_sources'])} data source schemas of hashicorp/aws "
        f"{schema['provider_version']} ({args.output.stat().st_size} bytes)"
    )
    return 0


def _check(args: argparse.Namespace) -> int:
    report = check_paths(args.paths or [DEFAULT_SCAN], load_schema(args.schema))
    if args.json:
        print(
            json.dumps(
                {
                    "files": report.files,
                    "blocks": report.blocks,
                    "module_calls": report.module_calls,
                    "by_type": report.by_type,
                    "findings": [f.__dict__ for f in report.findings],
                },
                indent=1,
            )
        )
    else:
        for finding in report.findings:
            print(finding)
        for skipped in report.skipped_other_providers:
            print(f"not checked (not hashicorp/aws): {skipped}")
        print(report.summary())
    return 1 if report.findings else 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m scripts.tfschema", description=__doc__.split("\n")[0]
    )
    sub = parser.add_subparsers(dest="command", required=True)
    gen = sub.add_parser("generate", help="derive the schema file from the pinned cdktf package")
    gen.add_argument("--wheel", type=Path, help="a downloaded cdktf-cdktf-provider-aws wheel")
    gen.add_argument("--scan", type=Path, default=DEFAULT_SCAN, help="keep the types used here")
    gen.add_argument("--output", type=Path, default=DEFAULT_SCHEMA)
    gen.set_defaults(func=_generate)
    chk = sub.add_parser("check", help="check .tf files against the schema file")
    chk.add_argument("paths", nargs="*", type=Path)
    chk.add_argument("--schema", type=Path, default=DEFAULT_SCHEMA)
    chk.add_argument("--json", action="store_true")
    chk.set_defaults(func=_check)
    args = parser.parse_args(argv)
    try:
        return args.func(args)
    except (subprocess.CalledProcessError, RuntimeError, OSError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
