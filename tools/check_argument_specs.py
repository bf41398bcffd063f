"""Check that every role's public defaults and its argument_specs declare the same variables.

Every public variable is commented in defaults/main.yml and declared in meta/argument_specs.yml (from which
tools/gen_role_docs.py writes README's "Role variables"), and the two key sets match. Internal (``__``)
variables live in vars/ and are not part of the contract. Spec defaults must not depend on facts.
"""

from __future__ import annotations

import sys
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1]


def check_role(role: Path) -> list[str]:
    errors: list[str] = []
    defaults_file = role / "defaults" / "main.yml"
    spec_file = role / "meta" / "argument_specs.yml"
    if not spec_file.exists():
        return [f"{role.name}: meta/argument_specs.yml is missing"]
    defaults = yaml.safe_load(defaults_file.read_text()) if defaults_file.exists() else {}
    defaults = defaults or {}
    specs = (yaml.safe_load(spec_file.read_text()) or {}).get("argument_specs", {})
    main = specs.get("main", {}).get("options", {}) or {}
    declared = set(main)
    defined = set(defaults)
    for name in sorted(defined - declared):
        errors.append(f"{role.name}: {name} is in defaults/main.yml but not in meta/argument_specs.yml")
    # Collection-wide variables (torchfleet_*) are declared in each spec but have no role default.
    for name in sorted(n for n in declared - defined if not n.startswith("torchfleet_")):
        errors.append(f"{role.name}: {name} is in meta/argument_specs.yml but not in defaults/main.yml")
    for name in sorted(declared | defined):
        if (
            not name.startswith(f"{role.name}_")
            and not name.startswith("torchfleet_")
            and name not in PREFIX_EXCEPTIONS
        ):
            errors.append(f"{role.name}: {name} does not carry the role prefix '{role.name}_'")
    for name, option in main.items():
        default = str(option.get("default", ""))
        if "ansible_facts" in default or "ansible_" in default:
            errors.append(f"{role.name}: the spec default of {name} depends on facts")
    return errors


# Public names older than the role's name (README "Role variables"): renaming them would break users' inventories.
PREFIX_EXCEPTIONS = {"pytorch_version", "pytorch_env_name", "pytorch_python_version", "pytorch_compute"}


def main() -> int:
    # A directory becomes a role once it has tasks; roles/trainers holds only scripts for now.
    roles = sorted(p.parents[1] for p in (ROOT / "roles").glob("*/tasks/main.yml"))
    errors = [e for role in roles for e in check_role(role)]
    for error in errors:
        print(error, file=sys.stderr)
    print(f"argument specs: {len(roles)} roles checked, {len(errors)} problems")
    return 1 if errors else 0


if __name__ == "__main__":
    sys.exit(main())
