# TEST DOUBLE -- NOT CONDA.  Second half of the torchfleet.lab conda stand-in installer.
#
# The installer script runs this with the freshly made base venv's python after "Installing base environment...".
# It lays down what a Miniconda/Miniforge prefix holds (conda/constructor header.sh): bin/conda and
# condabin/conda (the stand-in CLI), conda-meta records for python/pip/conda, a constructor-style
# conda-meta/history block, .installer.info (constructor >= 3.16 JSON: name, version, platform, type),
# etc/profile.d/conda.sh, envs/, and for Miniforge the .condarc with channels: [conda-forge].
# Usage: setup_base.py PREFIX INSTALLER_NAME INSTALLER_VERSION PAYLOAD_DIR

from __future__ import annotations

import datetime
import glob
import json
import os
import shutil
import stat
import subprocess
import sys

PROFILE_SH = """\
# TEST DOUBLE: torchfleet.lab conda stand-in shell hook (not conda's).  Defines a `conda` function with
# activate/deactivate for POSIX shells; everything else goes to $CONDA_EXE.
export CONDA_EXE='{prefix}/bin/conda'
export CONDA_PYTHON_EXE='{prefix}/bin/python'
export _CE_M=''
export _CE_CONDA=''
if [ -z "${{CONDA_SHLVL+x}}" ]; then
    export CONDA_SHLVL=0
fi
conda() {{
    case "${{1:-}}" in
        activate)
            _target="${{2:-base}}"
            if [ "$_target" = "base" ]; then _target='{prefix}';
            elif [ -d "$_target" ]; then :;
            else _target='{prefix}/envs/'"$_target"; fi
            if [ ! -f "$_target/conda-meta/history" ]; then
                echo "EnvironmentNameNotFound: Could not find conda environment: ${{2:-base}}" >&2
                return 1
            fi
            export PATH="$_target/bin:$PATH"
            export CONDA_PREFIX="$_target"
            export CONDA_DEFAULT_ENV="${{2:-base}}"
            export CONDA_SHLVL=$((CONDA_SHLVL + 1))
            ;;
        deactivate)
            if [ -n "${{CONDA_PREFIX:-}}" ]; then
                PATH=$(printf '%s' "$PATH" | sed "s#$CONDA_PREFIX/bin:##")
                export PATH
                unset CONDA_PREFIX CONDA_DEFAULT_ENV
                export CONDA_SHLVL=0
            fi
            ;;
        *) "$CONDA_EXE" "$@" ;;
    esac
}}
"""


def bundled_wheel_dir():
    """Where this interpreter's ensurepip keeps its wheels: Debian's python3-pip-whl directory (sysconfig
    WHEEL_PKG_DIR, read by CPython 3.11 Lib/ensurepip/__init__.py as _WHEEL_PKG_DIR) or ensurepip/_bundled."""
    import ensurepip  # noqa: PLC0415

    bundled = os.path.join(os.path.dirname(ensurepip.__file__), "_bundled")
    for directory in (getattr(ensurepip, "_WHEEL_PKG_DIR", None), bundled):
        if directory and glob.glob(os.path.join(directory, "pip-*.whl")):
            return directory
    raise SystemExit("ERROR: no bundled pip wheel for the base environment (python3-pip-whl missing?)")


def install_base_packages(prefix):
    """pip and setuptools into the base venv, as ensurepip would, but finishing a half-installed pip.

    Skipped when conda-meta records pip (this script wrote the records at the end of a finished run). Otherwise
    pip runs from its own wheel -- as CPython's ensurepip does (Lib/ensurepip/__init__.py _bootstrap: the wheels
    go on sys.path and pip installs them by name from --find-links) -- with --force-reinstall, so a pip whose
    files a killed run left half-written is written again whole.
    """
    if glob.glob(os.path.join(prefix, "conda-meta", "pip-*.json")):
        return
    wheels = bundled_wheel_dir()
    names = [n for n in ("pip", "setuptools") if glob.glob(os.path.join(wheels, f"{n}-*.whl"))]
    pip_wheel = sorted(glob.glob(os.path.join(wheels, "pip-*.whl")))[-1]
    env = {k: v for k, v in os.environ.items() if not k.startswith("PIP_")}  # as ensurepip: no pip configuration
    env["PIP_CONFIG_FILE"] = os.devnull
    cmd = [os.path.join(prefix, "bin", "python"), os.path.join(pip_wheel, "pip"), "install", "--no-cache-dir"]
    cmd += ["--no-index", "--find-links", wheels, "--force-reinstall", "--disable-pip-version-check", *names]
    subprocess.run(cmd, check=True, env=env, stdout=subprocess.DEVNULL)


def main():
    prefix, name, version, payload = sys.argv[1:5]
    sys.path.insert(0, payload)
    import conda_standin as cli  # noqa: PLC0415

    install_base_packages(prefix)

    is_forge = name.lower().startswith("miniforge")
    channel = "https://conda.anaconda.org/conda-forge" if is_forge else "https://repo.anaconda.com/pkgs/main"

    for directory in ("bin", "condabin", "envs", "pkgs", "etc/profile.d", "conda-meta"):
        os.makedirs(os.path.join(prefix, directory), exist_ok=True)
    for target in ("bin/conda", "condabin/conda"):
        path = os.path.join(prefix, target)
        with open(os.path.join(payload, "conda_standin.py")) as src:
            body = src.read().split("\n", 1)[1]
        with open(path, "w") as dst:
            dst.write(f"#!{prefix}/bin/python\n" + body)
        os.chmod(path, os.stat(path).st_mode | stat.S_IXUSR | stat.S_IXGRP | stat.S_IXOTH)

    info = {"name": name, "version": version, "platform": cli.subdir(), "type": "sh"}
    info["standin"] = "TEST DOUBLE: torchfleet.lab conda stand-in"
    with open(os.path.join(prefix, ".installer.info"), "w") as handle:
        json.dump(info, handle, indent=2)

    cli.ROOT = prefix
    conda_version = version.split("_", 1)[-1].rsplit("-", 1)[0] if "_" in version else version.rsplit("-", 1)[0]
    py = ".".join(str(v) for v in sys.version_info[:3])
    records = [cli.make_record(prefix, "python", py, channel)]
    records += cli.record_new_dists(prefix, channel, set())
    records.append(cli.make_record(prefix, "conda", conda_version, channel))

    stamp = datetime.datetime.now().strftime("%Y-%m-%d %H:%M:%S")
    lines = [
        f"==> {stamp} <==",
        f"# cmd: constructor (torchfleet stand-in, TEST DOUBLE) {name} {version}",
    ]
    for rec in records:
        fields = cli.dist_fields(rec)
        lines.append("+{}/{}::{}".format(fields["channel"], fields["platform"], fields["dist_name"]))
    lines.append("# update specs: {}".format(json.dumps([r["name"] for r in records]).replace('"', "'")))
    with open(os.path.join(prefix, "conda-meta", "history"), "w") as handle:
        handle.write("\n".join(lines) + "\n")

    with open(os.path.join(prefix, "etc", "profile.d", "conda.sh"), "w") as handle:
        handle.write(PROFILE_SH.format(prefix=prefix))
    if is_forge:
        with open(os.path.join(prefix, ".condarc"), "w") as handle:
            handle.write("channels:\n  - conda-forge\n")
    shutil.rmtree(os.path.join(prefix, "__pycache__"), ignore_errors=True)


if __name__ == "__main__":
    main()
