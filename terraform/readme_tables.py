"""Write the inputs and outputs tables of each Terraform README from its variables and outputs.

terraform-docs is not available on the machines this project is built on, so this small
stand-in reads variables.tf and outputs.tf with python-hcl2 and rewrites the part of
README.md between the BEGIN_TF_DOCS and END_TF_DOCS markers.

Usage: python terraform/readme_tables.py [--check]

Exit codes: 0 every table is current (or was rewritten), 1 a table is stale (--check),
2 usage or a README without markers.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from pathlib import Path

import hcl2

ROOT = Path(__file__).resolve().parent
BEGIN = "<!-- BEGIN_TF_DOCS -->"
END = "<!-- END_TF_DOCS -->"


def _unquote(value: object) -> object:
    # python-hcl2 keeps the quotes of string literals and wraps expressions in ${...}.
    if isinstance(value, str):
        if len(value) >= 2 and value[0] == value[-1] == '"':
            return value[1:-1]
        if value.startswith("${") and value.endswith("}"):
            return value[2:-1]
    return value


def _text(value: object) -> str:
    text = str(_unquote(value))
    heredoc = re.match(r"^<<-?(\w+)\n(.*)\n\s*\1$", text, re.DOTALL)
    if heredoc:
        text = heredoc.group(2)
    return " ".join(text.split())


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("<", "&lt;").replace(">", "&gt;")


def _default(value: object) -> str:
    value = _unquote(value)
    if isinstance(value, str):
        return f'`"{value}"`'
    return f"`{json.dumps(value)}`"


def _blocks(path: Path, kind: str) -> list[tuple[str, dict]]:
    if not path.exists():
        return []
    with path.open() as handle:
        parsed = hcl2.load(handle)
    blocks = []
    for entry in parsed.get(kind, []):
        for name, body in entry.items():
            blocks.append((name.strip('"'), body))
    return blocks


def tables(module_dir: Path) -> str:
    lines = [
        "## Inputs",
        "",
        "| Name | Description | Type | Default | Required |",
        "|---|---|---|---|:---:|",
    ]
    for name, body in sorted(_blocks(module_dir / "variables.tf", "variable")):
        has_default = "default" in body
        type_text = " ".join(str(_unquote(body.get("type", "any"))).split())
        flags = [flag for flag in ("sensitive", "ephemeral") if body.get(flag)]
        description = _text(body.get("description", ""))
        if flags:
            description = f"{description} ({', '.join(flags)})"
        lines.append(
            f"| `{name}` | {_cell(description)} | `{_cell(type_text)}` | "
            f"{_cell(_default(body['default'])) if has_default else 'n/a'} | "
            f"{'no' if has_default else 'yes'} |"
        )
    lines += ["", "## Outputs", "", "| Name | Description |", "|---|---|"]
    for name, body in sorted(_blocks(module_dir / "outputs.tf", "output")):
        lines.append(f"| `{name}` | {_cell(_text(body.get('description', '')))} |")
    return "\n".join(lines)


def update(readme: Path, check: bool) -> bool:
    """Return True when the README's tables are current (after rewriting them unless check)."""
    text = readme.read_text()
    if BEGIN not in text or END not in text:
        raise ValueError(f"{readme} has no {BEGIN} ... {END} markers")
    head, rest = text.split(BEGIN, 1)
    _, tail = rest.split(END, 1)
    fresh = f"{head}{BEGIN}\n{tables(readme.parent)}\n{END}{tail}"
    if fresh == text:
        return True
    if not check:
        readme.write_text(fresh)
    return not check


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="fail when a table is stale")
    args = parser.parse_args(argv)

    readmes = [ROOT / "README.md", *sorted(ROOT.glob("modules/*/README.md"))]
    stale = []
    for readme in readmes:
        try:
            if not update(readme, args.check):
                stale.append(readme)
        except (OSError, ValueError) as error:
            print(f"readme_tables: {error}", file=sys.stderr)
            return 2
    for readme in stale:
        print(f"stale inputs/outputs table: {readme.relative_to(ROOT.parent)}", file=sys.stderr)
    return 1 if stale else 0


if __name__ == "__main__":
    sys.exit(main())
