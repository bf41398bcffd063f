"""Write docs/bad-inputs.md from the catalogue of bad inputs, tests/bad_inputs.yml.

For each case the message is worked out the way a play gets it: Ansible's role argument validation on the
role's defaults and the case's variables (ansible.module_utils.common.arg_spec, as
ansible.builtin.validate_argument_spec runs it), then the collection's own validate_inputs rules. The molecule
scenario bad_inputs runs the same cases against the real roles in a lab container and checks the messages
and that the container did not change; this tool needs no container. ``--check`` exits 1 when the document
is out of date or a case is not refused with its expected message (run by ``make lint``).
"""

from __future__ import annotations

import argparse
import functools
import html
import re
import sys
import tempfile
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1]
CATALOGUE = ROOT / "tests" / "bad_inputs.yml"
DOC = ROOT / "docs" / "bad-inputs.md"
_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


def _import_collection():
    """Import the collection's plugins by their collection path, as Ansible does."""
    link = ROOT / "build" / "collections"
    if not (link / "ansible_collections" / "torchfleet" / "lab").exists():
        link = Path(tempfile.mkdtemp(prefix="torchfleet-doc-"))
        (link / "ansible_collections" / "torchfleet").mkdir(parents=True)
        (link / "ansible_collections" / "torchfleet" / "lab").symlink_to(ROOT)
    if str(link) not in sys.path:
        sys.path.insert(0, str(link))
    from ansible_collections.torchfleet.lab.plugins.action import validate_inputs  # noqa: PLC0415
    from ansible_collections.torchfleet.lab.plugins.module_utils import _validate  # noqa: PLC0415

    return validate_inputs, _validate


def load_cases(path=CATALOGUE):
    """The catalogue's cases, each with ``vars`` holding its ``long`` values written out."""
    cases = yaml.load(Path(path).read_text(), Loader=_LOADER)["cases"]
    for case in cases:
        case.setdefault("vars", {})
        for name, (prefix, text, count) in (case.get("long") or {}).items():
            case["vars"][name] = prefix + text * count
    return cases


@functools.lru_cache(maxsize=None)
def role_defaults(role):
    return yaml.load((ROOT / "roles" / role / "defaults" / "main.yml").read_text(), Loader=_LOADER) or {}


@functools.lru_cache(maxsize=None)
def role_options(role):
    spec = yaml.load((ROOT / "roles" / role / "meta" / "argument_specs.yml").read_text(), Loader=_LOADER)
    return spec["argument_specs"]["main"]["options"]


def expected_message(case):
    """``(task, message)``: which check refuses the case and its message; ``(None, "")`` when none does."""
    from ansible.module_utils.common.arg_spec import ArgumentSpecValidator  # noqa: PLC0415
    from ansible.module_utils.parsing.convert_bool import boolean  # noqa: PLC0415

    validate_inputs, _validate = _import_collection()
    role = case["role"]
    options = role_options(role)
    task_vars = {**role_defaults(role), **case["vars"]}
    provided = {name: task_vars[name] for name in options if name in task_vars}
    checked = ArgumentSpecValidator(options).validate(provided, validate_role_argument_spec=True)
    if checked.error_messages:
        # Ansible lists the valid booleans from a set, in an order that changes from run to run.
        errors = [re.sub(r"(Valid booleans include: ).*", r"\1true, false, yes, no, on, off, 1, 0, ...", e)
                  for e in checked.error_messages]  # fmt: skip
        return "argument spec", "Validation of arguments failed:\n" + "\n".join(errors)
    values = {name: task_vars[name] for name in _validate.role_rules(role) if name in task_vars}
    try:
        strict = boolean(task_vars.get("torchfleet_strict_vars", False), strict=False)
    except TypeError:
        strict = False
    problems, _unknown, _warnings = validate_inputs.check(role, values, task_vars.keys(), strict=strict)
    if problems:
        return "validate_inputs", validate_inputs.failure_message(role, f"case-{case['id']}", problems)
    return None, ""


def outcome(case, message):
    if not message:
        return "silently accepted"
    return "refused clearly" if case["expect"] in message else "unclear"


def _code(text):
    return "<code>" + html.escape(str(text)).replace("|", "&#124;").replace("\n", "<br>") + "</code>"


def _input(case, show):
    parts = []
    for name, value in case["vars"].items():
        text = show(value) if isinstance(value, str) else yaml.safe_dump(value, default_flow_style=True).strip()
        parts.append(f"{name}: {text.removesuffix('...').strip()}")
    return "<br>".join(_code(p) for p in parts)


def render(cases):
    _validate = _import_collection()[1]
    counts = {"refused clearly": 0, "silently accepted": 0, "unclear": 0}
    rows = []
    for number, case in enumerate(cases, 1):
        task, message = expected_message(case)
        result = case["outcome"] = outcome(case, message)
        counts[result] += 1
        # For validate_inputs, the lines after the count and host, without their "- ".
        shown = "\n".join(line[2:] for line in message.splitlines()[1:]) if task == "validate_inputs" else message
        rows.append(
            f"| {number} | `{case['id']}` | {case['role']} | {_input(case, _validate.show)} | {task or '-'} | "
            f"{_code(shown) if shown else '(none)'} | {result}; nothing changed |"
        )
    head = [
        "# Bad inputs and how the roles refuse them",
        "",
        "<!-- generated by tools/gen_bad_inputs_doc.py from tests/bad_inputs.yml; do not edit -->",
        "",
        "Each row is one case of `tests/bad_inputs.yml`: variables a user or an attacker could give a role, the check",
        "that refuses them and its message. Two checks run before any task reaches the host: Ansible's role",
        "argument validation (`meta/argument_specs.yml`: types, choices) and then the collection's",
        "`torchfleet.lab.validate_inputs` (the rules in `plugins/module_utils/_validate.py`: paths, URLs, versions,",
        "package lists, lists, numbers, misspelled variables). A `validate_inputs` failure reads",
        "`N inputs of the ROLE role refused; nothing was changed on HOST:` followed by the lines shown here.",
        "",
        "The molecule scenario `bad_inputs` runs every case against the real roles: one check-mode",
        "`ansible-playbook` run with each case as an inventory host pointing at one lab container. It asserts",
        "that every host failed with the expected message and that `podman diff` of the container is the same after",
        'the run as before it ("nothing changed").',
        "",
        "A misspelled variable (`pytorch_verison`) is a warning that names the closest known variable unless",
        "`torchfleet_strict_vars: true`, as in the cases below, makes it an error.",
        "",
        f"Cases: {len(cases)}; refused clearly: {counts['refused clearly']}; silently accepted: "
        f"{counts['silently accepted']}; unclear: {counts['unclear']}.",
        "",
        "| # | Case | Role | Input | Refused by | Message | Outcome |",
        "|---|---|---|---|---|---|---|",
    ]
    return "\n".join(head + rows) + "\n", counts


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--check", action="store_true", help="fail when docs/bad-inputs.md is out of date")
    args = parser.parse_args()
    cases = load_cases()
    ids = [case["id"] for case in cases]
    if len(ids) != len(set(ids)):
        print("tests/bad_inputs.yml has duplicate ids", file=sys.stderr)
        return 1
    text, counts = render(cases)
    bad = [case["id"] for case in cases if case["outcome"] != "refused clearly"]
    if bad:
        print("not refused with the expected message: " + ", ".join(bad), file=sys.stderr)
    if args.check:
        if not DOC.exists() or DOC.read_text() != text:
            print("docs/bad-inputs.md is out of date: run python tools/gen_bad_inputs_doc.py", file=sys.stderr)
            return 1
        print(f"docs/bad-inputs.md is current ({len(cases)} cases, {counts})")
        return 1 if bad else 0
    DOC.write_text(text)
    print(f"wrote docs/bad-inputs.md ({len(cases)} cases, {counts})")
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
