# Copyright: torchfleet.lab contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Filters ``pytorch_env_*``: the pytorch_env role's layout, input checks, package indexes, install plan and
verification (thin wrappers).  Internal to the collection: the role calls them, and they may change with it.

The decisions live in module_utils/_pytorch_env.py, where they are unit-tested for Linux, macOS and Windows.
"""

from __future__ import annotations

from ansible.errors import AnsibleFilterError
from ansible.utils.display import Display
from ansible_collections.torchfleet.lab.plugins.module_utils import _pytorch_env as pe
from ansible_collections.torchfleet.lab.plugins.plugin_utils._filter_options import checked_filters


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


def pytorch_env_check_inputs(values):
    # values: the role variables as they arrived (a float version must still be a float here).
    values = values if isinstance(values, dict) else {}
    try:
        return pe.check_inputs(
            version=values.get("version"),
            python=values.get("python"),
            extra_packages=values.get("extra_packages", []),
            index_url=values.get("index_url", ""),
        )
    except pe.LayoutError as exc:
        raise AnsibleFilterError(str(exc)) from exc


def pytorch_env_index(build, index_url="", mirror=""):
    # build: the torch_build result; the user's index and the mirror URL as given (credentials included).
    if not isinstance(build, dict):
        raise AnsibleFilterError("pytorch_env_index expects the result of torchfleet.lab.torch_build")
    return pe.choose_index(build, index_url=index_url or "", mirror=mirror or "")


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
                "pytorch_env_build_mismatch": pytorch_env_build_mismatch,
                "pytorch_env_netrc": pytorch_env_netrc,
                "pytorch_env_reinstall_needed": pytorch_env_reinstall_needed,
            },
            forwards={
                "pytorch_env_layout": ((pe.LayoutRequest,), ("name", "verify")),
                "pytorch_env_install_plan": ((pe.install_plan,), ("build",)),
            },
        )
