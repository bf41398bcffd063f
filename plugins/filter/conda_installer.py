# Copyright: torchfleet.lab contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Filter: describe the Miniconda/Miniforge installer for a host (thin wrapper over module_utils)."""

from __future__ import annotations

from ansible.errors import AnsibleFilterError
from ansible_collections.torchfleet.lab.plugins.module_utils import _conda_installer as ci


def conda_installer(
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
    install_type="JustMe",
    add_to_path=False,
    register_python=False,
):
    try:
        info = ci.installer(distribution, version, system, machine, base_url=base_url or None, sha256=sha256)
        if not prefix:
            prefix = ci.default_prefix(distribution, system, scope, home or "")
        ci.check_prefix(prefix, system)
        sep = "\\" if info["os"] == "Windows" else "/"
        info["path"] = cache_dir.rstrip("\\/") + sep + info["filename"]
        info["checksum"] = ci.checksum(info)
        info["argv"] = ci.install_command(
            info,
            info["path"],
            prefix,
            upgrade=upgrade,
            install_type=install_type,
            add_to_path=add_to_path,
            register_python=register_python,
        )
        info["prefix"] = prefix
        info.update(ci.executables(prefix, system))
    except ci.InstallerError as exc:
        raise AnsibleFilterError(str(exc)) from exc
    return info


class FilterModule:
    def filters(self):
        return {"conda_installer": conda_installer}
