# Copyright: torchfleet.lab contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Filters ``pytorch_env_*``: the pytorch_env role's layout, input checks, package indexes, install plan and
verification (thin wrappers).  Internal to the collection: the role calls them, and they may change with it.

The decisions live in module_utils/_pytorch_env.py, where they are unit-tested for Linux, macOS and Windows.
"""

from __future__ import annotations

import contextlib

from ansible.errors import AnsibleFilterError
from ansible.module_utils.parsing.convert_bool import boolean
from ansible.utils.display import Display
from ansible_collections.torchfleet.lab.plugins.plugin_utils._filter_options import ModuleUtils, checked_filters

pe = ModuleUtils("_pytorch_env")


def pytorch_env_layout(host, name, verify_device="auto", **options):
    # The role passes pytorch_env_verify_device as verify_device; the other options are layout()'s own.
    try:
        env = pe.layout(host, name, verify=verify_device, **options)
    except pe.LayoutError as exc:
        raise AnsibleFilterError(str(exc)) from exc
    # A real Ansible warning (shown once per message, listed with the play's warnings), not a debug line.
    for warning in (env.get("uv") or {}).get("warnings", []):
        Display().warning(warning)
    return env


def _jupyter_switches(values):
    # The switches as the role's templates hand them over: a bool, or the text of one ("True" where ansible-core
    # 2.16 renders a nested template to text, yes/no/1/0 from -e); read as Ansible reads booleans, anything else
    # is left for check_jupyter to refuse by name.
    values = dict(values) if isinstance(values, dict) else {}
    for key in ("kernel", "lab"):
        with contextlib.suppress(TypeError):
            values[key] = boolean(values.get(key, False), strict=True)
    return values


def pytorch_env_check_inputs(values):
    # values: the role variables as they arrived (a float version must still be a float here).
    values = values if isinstance(values, dict) else {}
    try:
        return pe.check_inputs(
            version=values.get("version"),
            python=values.get("python"),
            extra_packages=values.get("extra_packages", []),
            index_url=values.get("index_url", ""),
            jupyter=_jupyter_switches(values["jupyter"]) if "jupyter" in values else None,
        )
    except pe.LayoutError as exc:
        raise AnsibleFilterError(str(exc)) from exc


def pytorch_env_jupyter(env, name, kernel=False, lab=False, kernel_name="", display_name="", torch="", compute=""):  # noqa: PLR0913
    # env: the pytorch_env_layout result; the rest the role's pytorch_env_jupyter* variables and the resolved build.
    if not isinstance(env, dict) or "python" not in env:
        raise AnsibleFilterError("pytorch_env_jupyter expects the result of torchfleet.lab.pytorch_env_layout")
    switches = _jupyter_switches({"kernel": kernel, "lab": lab})
    kernel, lab = switches["kernel"], switches["lab"]
    try:
        return pe.jupyter(env, name, kernel=kernel, lab=lab, kernel_name=kernel_name or "",
                          display_name=display_name or "", torch=torch or "", compute=compute or "")  # fmt: skip
    except pe.LayoutError as exc:
        raise AnsibleFilterError(str(exc)) from exc


def pytorch_env_jupyter_owner(kernel, found, content=""):
    # kernel: the pytorch_env_jupyter result; found: whether its directory exists; content: its kernel.json text.
    if not isinstance(kernel, dict) or "dir" not in kernel:
        raise AnsibleFilterError("pytorch_env_jupyter_owner expects the result of torchfleet.lab.pytorch_env_jupyter")
    return pe.jupyter_kernel_owner(kernel, bool(found), content or "")


def pytorch_env_index(build, index_url="", mirror=""):
    # build: the torch_build result; the user's index and the mirror URL as given (credentials included).
    if not isinstance(build, dict):
        raise AnsibleFilterError("pytorch_env_index expects the result of torchfleet.lab.torch_build")
    indexes = pe.choose_index(build, index_url=index_url or "", mirror=mirror or "")
    for warning in pe.index_warnings(indexes):
        Display().warning(warning)
    return indexes


def pytorch_env_install_plan(env, build, **options):
    try:
        return pe.install_plan(env, build, **options)
    except pe.LayoutError as exc:
        raise AnsibleFilterError(str(exc)) from exc


def pytorch_env_netrc(urls, python=None):
    # The netrc text for the credentials in the index URLs; the role writes it only in a no_log task.
    try:
        return pe.index_credentials(list(urls or []), python)
    except pe.LayoutError as exc:
        raise AnsibleFilterError(str(exc)) from exc


def pytorch_env_build_mismatch(compute, version, cuda=None, hip=None):
    return pe.build_mismatch(compute, version, cuda, hip)


def pytorch_env_reinstall_needed(compute, stdout):
    # stdout: what the plan's read_build script printed in the environment ('' when it did not run).
    return pe.reinstall_needed(compute, stdout)


class FilterModule:
    def filters(self):
        return checked_filters(
            {
                "pytorch_env_layout": pytorch_env_layout,
                "pytorch_env_check_inputs": pytorch_env_check_inputs,
                "pytorch_env_install_plan": pytorch_env_install_plan,
                "pytorch_env_index": pytorch_env_index,
                "pytorch_env_jupyter": pytorch_env_jupyter,
                "pytorch_env_jupyter_owner": pytorch_env_jupyter_owner,
                "pytorch_env_build_mismatch": pytorch_env_build_mismatch,
                "pytorch_env_netrc": pytorch_env_netrc,
                "pytorch_env_reinstall_needed": pytorch_env_reinstall_needed,
            },
            forwards={
                "pytorch_env_layout": lambda: ((pe.LayoutRequest,), ("name", "verify")),
                "pytorch_env_install_plan": lambda: ((pe.install_plan,), ("build",)),
            },
        )
