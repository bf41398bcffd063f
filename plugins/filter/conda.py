# Copyright: torchfleet.lab contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Filters ``conda_*``: describe the Miniconda/Miniforge installer for a host, decide what to do with its prefix,
say why the installer failed, and read the state of Anaconda's channel terms.  Internal to the collection: the
miniconda role calls them, and they may change with it.

Thin wrappers over module_utils (_conda_installer, _conda_prefix, _conda_tos): every OS-dependent decision is made
there.
"""

from __future__ import annotations

from ansible.errors import AnsibleFilterError
from ansible.module_utils.parsing.convert_bool import boolean
from ansible.utils.display import Display
from ansible_collections.torchfleet.lab.plugins.plugin_utils._filter_options import ModuleUtils, checked_filters

ci = ModuleUtils("_conda_installer")
cp = ModuleUtils("_conda_prefix")
tos = ModuleUtils("_conda_tos")


# More than five arguments (ruff PLR0913): a filter's documented options, which playbooks may pass by position.
def conda_installer(  # noqa: PLR0913
    distribution,
    version,
    system,
    machine,
    prefix,
    cache_dir,
    scope="system",
    home=None,
    base_url=None,
    sha256=None,
    upgrade=False,
    install_type="",
    add_to_path=False,
    register_python=False,
    marker=None,
    condarc_extra=None,
):
    try:
        ci.check_condarc_extra(condarc_extra)
        info = ci.installer(distribution, version, system, machine, base_url=base_url or None, sha256=sha256)
        scope = ci.resolve_scope(scope, system)
        if not prefix:
            prefix = ci.default_prefix(distribution, system, scope, home or "")
        ci.check_prefix(prefix, system, home=home or None)
        if not cache_dir:
            cache_dir = ci.default_cache_dir(system, scope, home or "")
        ci.check_cache_dir(cache_dir, system, home=home or None)
        install_type = install_type or ci.install_type(scope, system)
        info.update(system=ci.normalise_system(system), family=ci.family(system), scope=scope)
        info.update(install_type=install_type, become=ci.needs_become(scope, system), cache_dir=cache_dir)
        info["path"] = ci.prefix_path(cache_dir, system, info["filename"])
        info["checksum"] = ci.checksum(info)
        windows = {"install_type": install_type, "add_to_path": add_to_path, "register_python": register_python}
        info["argv"] = ci.install_command(info, info["path"], prefix, upgrade=upgrade, **windows)
        info["notes"] = ci.install_notes(info, install_type, add_to_path=add_to_path)
        info["prefix"] = prefix
        info["condarc"] = ci.condarc_path(prefix, system)
        info["marker"] = ci.marker_path(prefix, system, cp.DEFAULT_MARKER if marker is None else marker)
        info["uninstaller"] = (
            ci.prefix_path(prefix, system, ci.uninstaller_name(distribution)) if info["kind"] == "exe" else None
        )
        info["tos_channels"] = ci.tos_channels(system)
        info.update(ci.executables(prefix, system))
    except ci.InstallerError as exc:
        raise AnsibleFilterError(str(exc)) from exc
    # A real Ansible warning (shown once per message, in the play recap's warnings), not a debug line.
    for warning in info["warnings"]:
        Display().warning(warning)
    return info


# More than five arguments (ruff PLR0913): a filter's documented options, which playbooks may pass by position.
def conda_prefix_plan(state, distribution, version, system, prefix, upgrade=False):  # noqa: PLR0913
    """``state`` is the registered result of torchfleet.lab.conda_prefix_info."""
    if not isinstance(state, dict) or "state" not in state:
        raise AnsibleFilterError("conda_prefix_plan expects the registered result of torchfleet.lab.conda_prefix_info")
    try:
        return cp.plan(
            state.get("state"),
            state.get("problems") or [],
            state.get("marker"),
            distribution,
            version,
            system,
            prefix,
            upgrade=boolean(upgrade, strict=False),
        )
    except (ValueError, ci.InstallerError) as exc:
        raise AnsibleFilterError(str(exc)) from exc


def conda_install_failure(result, prefix, min_free_mb, filename="the installer"):
    """``result`` is the registered result of the installer's command task."""
    if not isinstance(result, dict):
        raise AnsibleFilterError("conda_install_failure expects the registered result of the installer's command")
    return ci.install_failure(
        result.get("rc"), result.get("stdout"), result.get("stderr") or result.get("msg"), prefix, min_free_mb,
        filename=filename,
    )  # fmt: skip


def conda_tos_state(result, channels):
    """``result`` is the registered result of the miniconda role's ``conda tos --json`` command."""
    if not isinstance(result, dict):
        raise AnsibleFilterError("conda_tos_state expects the registered result of the `conda tos --json` command")
    if isinstance(channels, str) or not isinstance(channels, (list, tuple)):
        raise AnsibleFilterError(f"conda_tos_state: channels must be a list of channel URLs, not {channels!r}")
    try:
        return tos.state(result, channels)
    except tos.TermsStateError as exc:
        # The message already quotes the parser's error; chained, Ansible would print it twice more.
        raise AnsibleFilterError(str(exc)) from None


class FilterModule:
    def filters(self):
        return checked_filters(
            {
                "conda_installer": conda_installer,
                "conda_prefix_plan": conda_prefix_plan,
                "conda_install_failure": conda_install_failure,
                "conda_tos_state": conda_tos_state,
            }
        )
