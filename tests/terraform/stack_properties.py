"""Evaluated safety properties of a Terraform root module, read through tfparse.

tfparse wraps Trivy's HCL evaluator: it resolves modules, variables, locals, `for_each` and
`count` without the provider, and gives each block instance its values. A reference to a
block's `id` or `arn` (or a policy document's `json`) comes back as the block's own `id`, a
random UUID, so "this rule forwards to that target group" is an id comparison; a string built
around such a reference keeps the UUID inside it.

What the evaluator cannot know, it leaves unknown, and one unknown value inside `jsonencode`
nulls the whole container definition or policy. `load_stack` therefore evaluates a copy of the
tree in which:
- each required variable the example tfvars leave unset gets a placeholder
  (`PLACEHOLDER-<name>`, or a map of them keyed like the example's maps of objects), which also
  lets `secret_flow_violations` follow where each secret goes;
- references to attributes only the provider computes (`workload_identity_arn`, an unset
  `data.aws_region.x.region`) point at the block's `id` instead (the schema file says which
  attributes those are), keeping the link to the block;
- a `for` over a for_each resource with no instance reads `try(<resource>, {})`, as Terraform
  sees it, where the evaluator fails.
What still does not evaluate is reported, not guessed: a policy statement whose resources stay
unknown is read from its source lines for a quoted `*`, and says so in the counts.

Each `*_violations` function returns a `Result`: how many things it checked and what is wrong,
one sentence per defect naming the block instance (`module.alb.aws_lb_listener_rule.this["api"]`).
"""

from __future__ import annotations

import json
import re
import shutil
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

import hcl2
import tfparse

PLACEHOLDER = "PLACEHOLDER-"
AGENTCORE = "bedrock-agentcore:"
EXPECTED_AGENTCORE_ACTIONS = {
    "agent": {
        "bedrock-agentcore:GetWorkloadAccessTokenForUserId",
        "bedrock-agentcore:GetResourceOauth2Token",
    },
    "binder": {"bedrock-agentcore:CompleteResourceTokenAuth"},
}
# Arguments a secret may flow into: write-only ones, kept out of plan and state. The ALB's
# authenticate-oidc `client_secret` has no write-only variant in hashicorp/aws 6.25, so the OIDC
# client secret (a variable named *oidc*) may go there and does reach the state: a known limit.
SECRET_SINKS = {"client_secret_wo", "secret_string_wo"}
OIDC_SECRET_SINKS = {"client_secret"}
# Names that hold a reference to a secret, or its version, rather than the secret itself.
_NOT_A_SECRET = re.compile(r"(_arn|_arns|_id|_name|_version|_key_id|_kms_key|_path)$")


@dataclass
class Result:
    checked: int = 0
    violations: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)


def as_list(value) -> list:
    if value is None:
        return []
    return value if isinstance(value, list) else [value]


def is_secret_name(name: str) -> bool:
    return "secret" in name.lower() and not _NOT_A_SECRET.search(name.lower())


# --------------------------------------------------------------------------------------------
# Loading
# --------------------------------------------------------------------------------------------


def read_hcl(path: Path) -> dict:
    with path.open(encoding="utf-8") as handle:
        return hcl2.load(handle, serialization_options=hcl2.SerializationOptions(
            strip_string_quotes=True, with_comments=False))  # fmt: skip


def declared_variables(module_dir: Path) -> dict[str, dict]:
    found: dict[str, dict] = {}
    for path in sorted(module_dir.glob("*.tf")):
        for entry in read_hcl(path).get("variable", []):
            found.update(entry)
    return found


class Stack:
    """The evaluated instances of one root module, by type and by id."""

    def __init__(self, raw: dict, placeholders: dict, root: Path):
        self.root = root  # the source tree (the evaluated copy is gone)
        self.raw = raw
        self.placeholders = placeholders  # variable name: placeholder string or map
        # Resources and data sources only: a module call's inputs are followed to where they
        # land inside the module.
        self.by_type: dict[str, list[dict]] = {
            k: as_list(v) for k, v in raw.items() if k.startswith("aws_")
        }
        self.by_id = {b["id"]: b for blocks in self.by_type.values() for b in blocks if "id" in b}

    def of(self, tf_type: str) -> list[dict]:
        return self.by_type.get(tf_type, [])

    @staticmethod
    def address(block: dict) -> str:
        return block.get("__tfmeta", {}).get("path", "?")

    def ref(self, value, tf_type: str) -> dict | None:
        """The block of `tf_type` that a reference evaluated to (its id), if any."""
        block = self.by_id.get(value) if isinstance(value, str) else None
        if block and block.get("__tfmeta", {}).get("label") == tf_type:
            return block
        return None


_REFERENCE = re.compile(
    r"(?<![\w.])(data\.)?(aws_[a-z0-9_]+)\.([A-Za-z_][\w-]*)((?:\[[^\]\[]*\])?)\.([a-z0-9_]+)\b"
)
_RESOLVED = {"id", "arn", "json"}
_FOR_OVER_RESOURCE = re.compile(
    r"(\bfor\s+\w+(?:\s*,\s*\w+)?\s+in\s+)((?:data\.)?aws_[a-z0-9_]+\.[A-Za-z_][\w-]*)(\s*:)"
)


def set_arguments(files: list[Path]) -> dict[tuple[str, str, str], set[str]]:
    """{(kind, type, name): arguments written in its body} for the blocks of one module."""
    found: dict[tuple[str, str, str], set[str]] = {}
    for path in files:
        doc = read_hcl(path)
        for kind in ("resource", "data"):
            for entry in doc.get(kind, []):
                for tf_type, by_name in entry.items():
                    for name, body in by_name.items():
                        found[(kind, tf_type, name)] = set(body)
    return found


# Computed names rewritten behind any expression (`r.repository_url` in a `for` over the
# instances of a resource): named for the resources they come from, unlike `status` or `names`,
# which an object of our own may well have.
_GENERIC = {
    "api_key_secret_arn",
    "arn_suffix",
    "client_secret_arn",
    "credential_provider_arn",
    "dns_name",
    "key_id",
    "repository_url",
    "workload_identity_arn",
}


def always_computed(schema: dict) -> set[str]:
    """Names of `_GENERIC` that are computed-only wherever a kept type has them."""
    kinds: dict[str, set[str]] = {}
    for section in ("resources", "data_sources"):
        for spec in schema[section].values():
            for attr, kind in spec["attrs"].items():
                kinds.setdefault(attr, set()).add(kind)
    return {a for a, k in kinds.items() if k == {"c"} and a in _GENERIC}


def rewrite_computed_references(
    text: str, schema: dict, written: dict[tuple[str, str, str], set[str]] | None = None
) -> str:
    """Point references to values only the provider knows at the block's `id`.

    The evaluator resolves `<type>.<name>.id` (and `.arn`, and a policy document's `.json`) to
    the block's UUID but leaves any other computed attribute unknown, and one unknown value
    inside `jsonencode` nulls the whole document. Rewritten, `...workload_identity_arn` becomes
    the workload identity's UUID: the link to the block survives, the value was never known.
    Rewritten too: an optional attribute the block does not set (`data.aws_region.x.region`),
    the few names of `_GENERIC` behind any expression, and a `for` over a resource's instances.
    """
    written = written or {}

    def replace(match: re.Match) -> str:
        data, tf_type, name, _index, attr = match.groups()
        kept = schema["data_sources" if data else "resources"].get(tf_type)
        if attr in _RESOLVED or kept is None:
            return match.group(0)
        kind = kept["attrs"].get(attr)
        is_set = attr in written.get(("data" if data else "resource", tf_type, name), set())
        if kind == "c" or (kind == "o" and not is_set):
            return match.group(0)[: -len(attr)] + "id"
        return match.group(0)

    text = _REFERENCE.sub(replace, text)
    # A `for` over a for_each resource with no instance (no Microsoft provider configured) is
    # an empty object to Terraform but an error to the evaluator, which nulls every value
    # built from it: `try(..., {})` gives Terraform's answer.
    text = _FOR_OVER_RESOURCE.sub(r"\1try(\2, {})\3", text)
    names = "|".join(sorted(always_computed(schema)))
    # A computed nested block (`p.client_secret_arn[*].secret_arn`) goes with its index and
    # attributes: a splat over the block itself is a one-item list, as the block would be.
    generic = re.compile(
        rf"(?<=[\w\]\)])(?<!\bvar)(?<!\blocal)\.({names})\b(\[[^\]\[]*\])?((?:\.\w+)*)"
    )

    def replace_generic(match: re.Match) -> str:
        return "[*].id" if match.group(2) == "[*]" else ".id"

    return generic.sub(replace_generic, text)


def load_stack(
    root: Path, vars_file: str | None = "terraform.tfvars.example", schema: dict | None = None
) -> Stack:
    """Evaluate a copy of `root` (and the modules it calls) with the example variables."""
    variables = declared_variables(root)
    given: dict = read_hcl(root / vars_file) if vars_file else {}
    placeholders: dict[str, str | dict[str, str]] = {}
    # A map of secrets is keyed like some map in the example (credential providers by name).
    example_keys = sorted(
        {
            key
            for value in given.values()
            if isinstance(value, dict) and all(isinstance(v, dict) for v in value.values())
            for key in value
        }
    )
    for name, spec in variables.items():
        if "default" in spec or name in given:
            continue
        type_ = str(spec.get("type", "string")).removeprefix("${").removesuffix("}")
        if type_ == "string":
            placeholders[name] = f"{PLACEHOLDER}{name}"
        elif type_ == "map(string)":
            placeholders[name] = {k: f"{PLACEHOLDER}{name}-{k}" for k in example_keys}
        else:
            raise ValueError(f"{root}: required variable {name} ({type_}) has no example value")
    # The whole tree is copied so that `../modules/x` sources resolve in the copy too.
    source_tree = root
    with tempfile.TemporaryDirectory(prefix="tfeval-") as tmp:
        copy = Path(tmp) / "tree"
        shutil.copytree(source_tree, copy, ignore=shutil.ignore_patterns(".terraform*"))
        if schema is not None:
            for module in {p.parent for p in copy.rglob("*.tf")}:
                files = sorted(module.glob("*.tf"))
                written = set_arguments(files)
                for path in files:
                    text = rewrite_computed_references(
                        path.read_text(encoding="utf-8"), schema, written
                    )
                    path.write_text(text, encoding="utf-8")
        (copy / ".placeholders.tfvars").write_text(
            "".join(f"{k} = {json.dumps(v)}\n" for k, v in placeholders.items()),
            encoding="utf-8",
        )
        vars_paths = ([vars_file] if vars_file else []) + [".placeholders.tfvars"]
        raw = tfparse.load_from_path(str(copy), vars_paths=vars_paths)
    return Stack(raw, placeholders, root)


# --------------------------------------------------------------------------------------------
# Listener rules
# --------------------------------------------------------------------------------------------


def _ordered(actions: list[dict]) -> list[tuple[float, int, dict]]:
    # An action without `order` is ordered by its position, as the provider assigns it.
    return sorted(
        (float(a["order"]) if isinstance(a.get("order"), int | float) else 50000 + i, i, a)
        for i, a in enumerate(actions)
    )


def _forward_targets(action: dict) -> list:
    targets = [action.get("target_group_arn")]
    for forward in as_list(action.get("forward")):
        targets += [tg.get("arn") for tg in as_list(forward.get("target_group"))]
    return [t for t in targets if t]


def _paths(rule: dict) -> list[str]:
    values: list[str] = []
    for condition in as_list(rule.get("condition")):
        for pattern in as_list(condition.get("path_pattern")):
            values += [v for v in as_list(pattern.get("values")) if isinstance(v, str)]
    return values


def _service_names_by_target_group(stack: Stack) -> dict[str, str]:
    names = {}
    for service in stack.of("aws_ecs_service"):
        for lb in as_list(service.get("load_balancer")):
            names[lb.get("target_group_arn")] = str(service.get("name"))
    return names


def listener_rule_violations(stack: Stack) -> Result:
    """Every rule to a service authenticates (authenticate-oidc) before it forwards."""
    result = Result()
    served = _service_names_by_target_group(stack)
    reached: set[str] = set()
    for rule in stack.of("aws_lb_listener_rule"):
        where = stack.address(rule)
        ordered = _ordered(as_list(rule.get("action")))
        for position, (_, _, action) in enumerate(ordered):
            targets = _forward_targets(action)
            if action.get("type") != "forward" and not targets:
                continue
            result.checked += 1
            reached |= {served[t] for t in targets if t in served}
            earlier = [a for _, _, a in ordered[:position]]
            if not any(a.get("type") == "authenticate-oidc" for a in earlier):
                result.violations.append(f"{where}: forwards without authenticate-oidc before it")
    for service in sorted(set(served.values()) - reached):
        result.violations.append(f"no listener rule forwards to the service {service}")
    for listener in stack.of("aws_lb_listener"):
        for action in as_list(listener.get("default_action")):
            if action.get("type") == "forward" or _forward_targets(action):
                result.violations.append(
                    f"{stack.address(listener)}: the default action forwards, unauthenticated"
                )
    if not served:
        result.violations.append("no ECS service is attached to a target group")
    return result


def api_rule_violations(stack: Stack) -> Result:
    """Rules for /api/* answer 401 to a request without a session instead of redirecting."""
    result = Result()
    for rule in stack.of("aws_lb_listener_rule"):
        if not any(p.startswith("/api") for p in _paths(rule)):
            continue
        result.checked += 1
        for action in as_list(rule.get("action")):
            for oidc in as_list(action.get("authenticate_oidc")):
                value = oidc.get("on_unauthenticated_request")
                if value != "deny":
                    result.violations.append(
                        f"{stack.address(rule)}: on_unauthenticated_request is {value!r}, not "
                        "'deny' (fetch cannot follow a redirect to the sign-in page)"
                    )
    if not result.checked:
        result.violations.append("no listener rule matches an /api path")
    return result


# --------------------------------------------------------------------------------------------
# ECS services and their security groups
# --------------------------------------------------------------------------------------------


def public_ip_violations(stack: Stack) -> Result:
    result = Result()
    for service in stack.of("aws_ecs_service"):
        result.checked += 1
        configs = as_list(service.get("network_configuration"))
        if not configs:
            result.violations.append(f"{stack.address(service)}: no network_configuration")
        for config in configs:
            # Unset is the provider's default, false.
            if config.get("assign_public_ip") not in (None, False):
                result.violations.append(f"{stack.address(service)}: assign_public_ip is true")
    if result.checked < 2:
        result.violations.append(f"{result.checked} ECS services, expected the agent and binder")
    return result


def _alb_security_groups(stack: Stack) -> set[str]:
    return {sg for lb in stack.of("aws_lb") for sg in as_list(lb.get("security_groups"))}


def _ingress_rules(stack: Stack, sg_id: str) -> list[tuple[str, dict, str, str]]:
    """(address, rule, source attribute name, kind) for every ingress rule of one group."""
    rules = []
    for rule in stack.of("aws_vpc_security_group_ingress_rule"):
        if rule.get("security_group_id") == sg_id:
            rules.append((stack.address(rule), rule, "referenced_security_group_id", "vpc"))
    for rule in stack.of("aws_security_group_rule"):
        if rule.get("security_group_id") == sg_id and rule.get("type") == "ingress":
            rules.append((stack.address(rule), rule, "source_security_group_id", "legacy"))
    group = stack.by_id.get(sg_id, {})
    for i, rule in enumerate(as_list(group.get("ingress"))):
        rules.append((f"{stack.address(group)}.ingress[{i}]", rule, "security_groups", "inline"))
    return rules


_OPEN_SOURCES = (
    "cidr_ipv4",
    "cidr_ipv6",
    "prefix_list_id",
    "cidr_blocks",
    "ipv6_cidr_blocks",
    "prefix_list_ids",
)


def task_ingress_violations(stack: Stack) -> Result:
    """Each task security group admits only the ALB's security group, on the container port."""
    result = Result()
    alb_groups = _alb_security_groups(stack)
    if not alb_groups:
        result.violations.append("no aws_lb with security_groups found")
    for service in stack.of("aws_ecs_service"):
        ports = {lb.get("container_port") for lb in as_list(service.get("load_balancer"))}
        for config in as_list(service.get("network_configuration")):
            for sg_id in as_list(config.get("security_groups")):
                rules = _ingress_rules(stack, sg_id)
                if not rules:
                    result.violations.append(
                        f"{stack.address(service)}: security group {sg_id} has no ingress rule"
                    )
                for where, rule, source_key, _kind in rules:
                    result.checked += 1
                    sources = set(as_list(rule.get(source_key)))
                    if not sources or not sources <= alb_groups:
                        result.violations.append(f"{where}: source is not the ALB security group")
                    for key in _OPEN_SOURCES:
                        if as_list(rule.get(key)):
                            result.violations.append(f"{where}: admits {key} {rule.get(key)}")
                    if rule.get("self") is True:
                        result.violations.append(f"{where}: admits its own group (self)")
                    span = {rule.get("from_port"), rule.get("to_port")}
                    if ports and span != ports:
                        result.violations.append(
                            f"{where}: ports {sorted(map(str, span))}, container port {ports}"
                        )
    return result


# --------------------------------------------------------------------------------------------
# Workload identity return URLs
# --------------------------------------------------------------------------------------------


def container_environment(task_definition: dict) -> dict[str, dict[str, str]] | None:
    """{container name: {env name: value}}, or None when the definitions did not evaluate."""
    raw = task_definition.get("container_definitions")
    if not isinstance(raw, str):
        return None
    containers = json.loads(raw)
    return {
        str(c.get("name")): {e["name"]: e.get("value") for e in c.get("environment", [])}
        for c in containers
    }


def return_url_violations(stack: Stack) -> Result:
    """The workload identity's return URLs are exactly the agent's SESSION_BINDING_URL."""
    result = Result()
    urls: set[str] = set()
    for task in stack.of("aws_ecs_task_definition"):
        env = container_environment(task)
        if env is None:
            result.violations.append(
                f"{stack.address(task)}: container_definitions did not evaluate (an unknown "
                "value inside jsonencode)"
            )
            continue
        urls |= {e["SESSION_BINDING_URL"] for e in env.values() if "SESSION_BINDING_URL" in e}
    if len(urls) != 1:
        result.violations.append(f"expected one SESSION_BINDING_URL in the agent, found {urls}")
    identities = stack.of("aws_bedrockagentcore_workload_identity")
    if not identities:
        result.violations.append("no aws_bedrockagentcore_workload_identity")
    for identity in identities:
        result.checked += 1
        allowed = as_list(identity.get("allowed_resource_oauth2_return_urls"))
        if sorted(allowed) != sorted(urls):
            result.violations.append(
                f"{stack.address(identity)}: allowed_resource_oauth2_return_urls {allowed} "
                f"!= the agent's SESSION_BINDING_URL {sorted(urls)}"
            )
    for url in urls:
        if not str(url).startswith("https://"):
            result.violations.append(f"SESSION_BINDING_URL {url!r} is not https")
    return result


def _alb_path_match(pattern: str, path: str) -> bool:
    # ALB path patterns: `*` any run of characters, `?` one character, case-sensitive.
    regex = "".join(".*" if c == "*" else "." if c == "?" else re.escape(c) for c in pattern)
    return re.fullmatch(regex, path) is not None


def binding_route_violations(stack: Stack) -> Result:
    """The path of the agent's SESSION_BINDING_URL reaches the binder, through sign-in.

    AgentCore sends the browser there after consent; the first rule (lowest priority number)
    whose path pattern matches it must be one that forwards to the binder's target group.
    """
    result = Result()
    urls = set()
    binder_groups = set()
    for service in stack.of("aws_ecs_service"):
        task = stack.ref(service.get("task_definition"), "aws_ecs_task_definition") or {}
        for env in (container_environment(task) or {}).values():
            if "SESSION_BINDING_URL" in env:
                urls.add(env["SESSION_BINDING_URL"])
        if _service_kind(service, task) == "binder":
            binder_groups |= {
                lb.get("target_group_arn") for lb in as_list(service.get("load_balancer"))
            }
    for url in sorted(urls):
        result.checked += 1
        path = "/" + url.split("://", 1)[-1].split("/", 1)[-1].split("?", 1)[0]
        rules = sorted(
            (
                r
                for r in stack.of("aws_lb_listener_rule")
                if any(_alb_path_match(p, path) for p in _paths(r))
            ),
            key=lambda r: (
                r.get("priority") if isinstance(r.get("priority"), int | float) else 50001
            ),
        )
        if not rules:
            result.violations.append(f"no listener rule matches the binding path {path}")
            continue
        targets = {t for a in as_list(rules[0].get("action")) for t in _forward_targets(a)}
        if not targets or not targets <= binder_groups:
            result.violations.append(
                f"{stack.address(rules[0])}: the first rule for {path} forwards elsewhere"
            )
    if not urls:
        result.violations.append("no task sets SESSION_BINDING_URL")
    return result


# --------------------------------------------------------------------------------------------
# Task role policies
# --------------------------------------------------------------------------------------------


_QUOTED_WILDCARD = re.compile(r'"[^"\n]*\*[^"\n]*"')


def _unevaluated(stack: Stack, statement: dict) -> str:
    """`<unevaluated ...>` naming the statement's source, `*` in it if a quoted string has one."""
    meta = statement.get("__tfmeta", {})
    where = f"{meta.get('filename')}:{meta.get('line_start')}-{meta.get('line_end')}"
    path = stack.root / str(meta.get("filename"))
    if not path.is_file():
        return f"<unevaluated {where}, source not found>"
    lines = path.read_text(encoding="utf-8").splitlines()
    source = "\n".join(lines[int(meta["line_start"]) - 1 : int(meta["line_end"])])
    wildcard = " with * in a quoted string" if _QUOTED_WILDCARD.search(source) else ""
    return f"<unevaluated {where}{wildcard}>"


def _statements(stack: Stack, policy) -> list[dict]:
    """Allow/Deny statements of a policy given as a policy document data source or JSON."""
    document = stack.ref(policy, "aws_iam_policy_document")
    if document is not None:
        out = []
        for st in as_list(document.get("statement")):
            resources = as_list(st.get("resources"))
            if not resources and not st.get("not_resources"):
                # Did not evaluate (an empty list is no valid policy): read its source instead.
                resources = [_unevaluated(stack, st)]
            out.append(
                {
                    "Effect": st.get("effect", "Allow"),
                    "Action": as_list(st.get("actions")),
                    "NotAction": as_list(st.get("not_actions")),
                    "Resource": resources,
                }
            )
        for source in as_list(document.get("source_policy_documents")) + as_list(
            document.get("override_policy_documents")
        ):
            out += _statements(stack, source)
        return out
    if isinstance(policy, str):
        try:
            parsed = json.loads(policy)
        except json.JSONDecodeError:
            return [{"Effect": "Allow", "Action": ["<unevaluated policy>"], "Resource": []}]
        statements = as_list(parsed.get("Statement"))
        return [
            {
                "Effect": st.get("Effect", "Allow"),
                "Action": as_list(st.get("Action")),
                "NotAction": as_list(st.get("NotAction")),
                "Resource": as_list(st.get("Resource")),
            }
            for st in statements
        ]
    return [{"Effect": "Allow", "Action": ["<unevaluated policy>"], "Resource": []}]


def role_statements(stack: Stack, role: dict) -> list[tuple[str, dict]]:
    """(policy address, statement) for every policy attached to one role."""
    keys = {role.get("id"), role.get("name"), role.get("arn")} - {None}
    found = []
    for policy in stack.of("aws_iam_role_policy"):
        if policy.get("role") in keys:
            found += [(stack.address(policy), st) for st in _statements(stack, policy["policy"])]
    for attachment in stack.of("aws_iam_role_policy_attachment"):
        if attachment.get("role") in keys:
            managed = stack.ref(attachment.get("policy_arn"), "aws_iam_policy")
            if managed is None:
                found.append(
                    (
                        stack.address(attachment),
                        {"Effect": "Allow", "Action": [f"<{attachment.get('policy_arn')}>"]},
                    )
                )
            else:
                found += [
                    (stack.address(managed), st) for st in _statements(stack, managed["policy"])
                ]
    for inline in as_list(role.get("inline_policy")):
        found += [(stack.address(role), st) for st in _statements(stack, inline.get("policy"))]
    return found


def _service_kind(service: dict, task: dict) -> str | None:
    text = f"{service.get('name')} {task.get('family')}".lower()
    if "binder" in text:
        return "binder"
    if "agent" in text:
        return "agent"
    return None


def task_role_violations(stack: Stack) -> tuple[Result, dict[str, list[str]]]:
    """Each task role holds exactly its AgentCore actions, no wildcard, no NotAction."""
    result = Result()
    actions_by_service: dict[str, list[str]] = {}
    for service in stack.of("aws_ecs_service"):
        task = stack.ref(service.get("task_definition"), "aws_ecs_task_definition")
        where = stack.address(service)
        if task is None:
            result.violations.append(f"{where}: task_definition is not a task definition here")
            continue
        kind = _service_kind(service, task)
        role = stack.ref(task.get("task_role_arn"), "aws_iam_role")
        if kind is None or role is None:
            result.violations.append(f"{where}: cannot tell agent from binder, or no task role")
            continue
        result.checked += 1
        statements = role_statements(stack, role)
        allowed: set[str] = set()
        for source, st in statements:
            actions = [str(a) for a in as_list(st.get("Action"))]
            if st.get("Effect", "Allow") != "Allow":
                continue
            allowed |= set(actions)
            if as_list(st.get("NotAction")):
                result.violations.append(f"{source}: Allow with NotAction")
            for action in actions:
                if "*" in action:
                    result.violations.append(f"{source}: wildcard action {action}")
                if action.startswith("<"):
                    result.violations.append(f"{source}: policy {action} could not be read")
            for resource in as_list(st.get("Resource")):
                # Every action a task needs acts on a resource whose ARN the stack knows.
                if resource == "*" or "with * in a quoted string" in str(resource):
                    result.violations.append(f"{source}: {', '.join(actions)} on {resource}")
                elif str(resource).startswith("<unevaluated"):
                    result.notes.append(f"{', '.join(actions)}: resources {resource[1:-1]}")
        agentcore = {a for a in allowed if a.lower().startswith(AGENTCORE)}
        if agentcore != EXPECTED_AGENTCORE_ACTIONS[kind]:
            result.violations.append(
                f"{where} ({kind}): AgentCore actions {sorted(agentcore)}, expected "
                f"{sorted(EXPECTED_AGENTCORE_ACTIONS[kind])}"
            )
        if kind == "binder" and any(a.startswith("bedrock:") for a in allowed):
            result.violations.append(f"{where} (binder): may invoke Bedrock models")
        actions_by_service[kind] = sorted(allowed)
    if set(actions_by_service) != {"agent", "binder"}:
        result.violations.append(f"task roles found for {sorted(actions_by_service)} only")
    return result, actions_by_service


def _agentcore_resource(stack: Stack, resource) -> str:
    """Name an AgentCore resource as the IAM check sees it: directory, identity, vault, provider."""
    value = str(resource)
    block = stack.by_id.get(value)
    label = block.get("__tfmeta", {}).get("label") if block else None
    if label == "aws_bedrockagentcore_workload_identity":
        return f"identity {stack.address(block)}"
    if label == "aws_bedrockagentcore_oauth2_credential_provider":
        return f"provider {stack.address(block)}"
    if value.endswith(":workload-identity-directory/default"):
        return "directory"
    if value.endswith(":token-vault/default"):
        return "token vault"
    return f"other {value}"


def agentcore_arn_violations(stack: Stack) -> Result:
    """Each AgentCore action is granted on exactly the ARNs the service authorizes it against.

    GetWorkloadAccessTokenForUserId: the workload identity directory and the identity.
    GetResourceOauth2Token and CompleteResourceTokenAuth: those, the token vault and each
    credential provider. No pattern, no other resource.
    """
    result = Result()
    identities = {
        f"identity {stack.address(b)}" for b in stack.of("aws_bedrockagentcore_workload_identity")
    }
    providers = {
        f"provider {stack.address(b)}"
        for b in stack.of("aws_bedrockagentcore_oauth2_credential_provider")
    }
    expected = {
        "bedrock-agentcore:GetWorkloadAccessTokenForUserId": {"directory"} | identities,
        "bedrock-agentcore:GetResourceOauth2Token": {"directory", "token vault"}
        | identities
        | providers,
        "bedrock-agentcore:CompleteResourceTokenAuth": {"directory", "token vault"}
        | identities
        | providers,
    }
    for service in stack.of("aws_ecs_service"):
        task = stack.ref(service.get("task_definition"), "aws_ecs_task_definition")
        role = stack.ref((task or {}).get("task_role_arn"), "aws_iam_role")
        if role is None:
            continue
        granted: dict[str, set[str]] = {}
        for _source, st in role_statements(stack, role):
            if st.get("Effect", "Allow") != "Allow":
                continue
            for action in as_list(st.get("Action")):
                if action in expected:
                    granted.setdefault(action, set()).update(
                        _agentcore_resource(stack, r) for r in as_list(st.get("Resource"))
                    )
        for action, resources in sorted(granted.items()):
            result.checked += 1
            if resources != expected[action]:
                result.violations.append(
                    f"{stack.address(service)}: {action} on {sorted(resources)}, "
                    f"expected {sorted(expected[action])}"
                )
    return result


# --------------------------------------------------------------------------------------------
# Secrets
# --------------------------------------------------------------------------------------------


def _literal_secrets(node, where: str, out: list[str]) -> None:
    if isinstance(node, dict):
        for key, value in node.items():
            if key.startswith("__"):
                continue
            if (
                is_secret_name(key)
                and isinstance(value, str)
                and value
                and "${" not in value
                and key not in {"description", "type"}
            ):
                out.append(f"{where}: {key} is the literal {value[:4]!r}...")
            _literal_secrets(value, f"{where}.{key}", out)
    elif isinstance(node, list):
        for i, item in enumerate(node):
            _literal_secrets(item, f"{where}[{i}]", out)


def secret_declaration_violations(root: Path, files: list[Path], tfvars: Path) -> Result:
    """Secret variables are sensitive with no default; no secret is written as a literal."""
    result = Result()
    oidc_found = False
    for path in files:
        doc = read_hcl(path)
        rel = path.relative_to(root)
        for entry in doc.get("variable", []):
            for name, spec in entry.items():
                if not is_secret_name(name):
                    continue
                result.checked += 1
                oidc_found |= path.parent == root and "oidc" in name and "secret" in name
                if spec.get("sensitive") is not True:
                    result.violations.append(f"{rel}: variable {name} is not sensitive")
                if "default" in spec and spec["default"] is not None:
                    result.violations.append(f"{rel}: variable {name} has a default")
        for kind in ("resource", "data"):
            for entry in doc.get(kind, []):
                for tf_type, by_name in entry.items():
                    for name, body in by_name.items():
                        _literal_secrets(body, f"{rel}: {tf_type}.{name}", result.violations)
        for kind in ("module", "locals", "output"):
            for entry in doc.get(kind, []):
                _literal_secrets(entry, f"{rel}: {kind}", result.violations)
    if not oidc_found:
        result.violations.append("the root module declares no OIDC client secret variable")
    example = read_hcl(tfvars)
    for name in example:
        if is_secret_name(name):
            result.violations.append(f"{tfvars.name} sets the secret variable {name}")
    _literal_secrets(example, tfvars.name, result.violations)
    return result


def secret_flow_violations(stack: Stack) -> Result:
    """Each secret variable's placeholder reaches its write-only arguments and nothing else."""
    result = Result()
    sinks: dict[str, set[str]] = {}  # placeholder: the arguments it may reach
    for name, value in stack.placeholders.items():
        if is_secret_name(name):
            allowed = SECRET_SINKS | (OIDC_SECRET_SINKS if "oidc" in name else set())
            for marker in value.values() if isinstance(value, dict) else [value]:
                sinks[marker] = allowed
    result.checked = len(sinks)
    reached: set[str] = set()

    def walk(node, where: str, key: str) -> None:
        if isinstance(node, dict):
            for k, v in node.items():
                if k != "__tfmeta":
                    walk(v, f"{where}.{k}", k)
        elif isinstance(node, list):
            for i, item in enumerate(node):
                walk(item, f"{where}[{i}]", key)
        elif isinstance(node, str):
            for marker, allowed in sinks.items():
                if marker not in node:
                    continue
                if node == marker and key in allowed:
                    reached.add(marker)
                else:
                    result.violations.append(f"{where}: a secret reaches `{key}`")

    for tf_type, blocks in stack.by_type.items():
        for block in blocks:
            walk(block, stack.address(block) or tf_type, "")
    for output in as_list(stack.raw.get("output")):
        walk(output, "output", "")
    for marker in sorted(set(sinks) - reached):
        result.violations.append(
            f"{marker.removeprefix(PLACEHOLDER)} reaches no {'/'.join(sorted(sinks[marker]))}"
        )
    return result


# --------------------------------------------------------------------------------------------
# WAF
# --------------------------------------------------------------------------------------------

KNOWN_BAD_INPUTS = "AWSManagedRulesKnownBadInputsRuleSet"


def waf_violations(stack: Stack) -> Result:
    """With the example values, a web ACL holding the known-bad-inputs rules guards the ALB.

    checkov's CKV2_AWS_76 (the Log4j rule group) cannot follow the counted association
    `aws_wafv2_web_acl.this[0]`; checkov/config.yaml skips it and this asserts it instead.
    """
    result = Result()
    guarded = {
        a.get("resource_arn"): a.get("web_acl_arn")
        for a in stack.of("aws_wafv2_web_acl_association")
    }
    for lb in stack.of("aws_lb"):
        result.checked += 1
        acl = stack.by_id.get(guarded.get(lb["id"]))
        if acl is None:
            result.violations.append(f"{stack.address(lb)}: no web ACL is associated")
            continue
        groups = [
            managed.get("name")
            for rule in as_list(acl.get("rule"))
            for statement in as_list(rule.get("statement"))
            for managed in as_list(statement.get("managed_rule_group_statement"))
        ]
        if KNOWN_BAD_INPUTS not in groups:
            result.violations.append(f"{stack.address(acl)}: no {KNOWN_BAD_INPUTS} ({groups})")
    return result
