# Copyright: torchfleet.lab contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The drift audit of playbooks/audit.yml: what each host has against what the inventory asks.

Private to torchfleet.lab.  Standard library only and Python 3.8 syntax, like the other module_utils.  The
``audit_host`` and ``audit_report`` filters are thin wrappers around :func:`compare_host` and :func:`report`.

The playbook reads each host (read-only modules, ``stat`` and ``slurp``) and resolves what is wanted with the
roles' own resolution (gpu_driver's plan, miniconda's installer choice and ``.condarc``, pytorch_env's build and
layout, the trainers' plan); this module only compares the two.  Each compared field gives one result:

- ``ok``: the host has what is asked;
- ``drift``: it has something else (``wanted`` and ``found`` say what);
- ``missing``: the component is not on the host at all (a drift too);
- ``not applicable``: the inventory asks for nothing there (no NVIDIA GPU, a uv host has no conda).
"""

import re

from ansible_collections.torchfleet.lab.plugins.module_utils import _driver, _pytorch_env, _validate

# The groups of fields a user may audit (torchfleet_audit_fields), in the order the report shows them.
GROUPS = ("driver", "conda", "torch", "uv", "trainers")
FIELDS = {
    "driver": ("driver_branch", "driver_version", "driver_holds"),
    "conda": ("conda_distribution", "conda_version", "condarc"),
    "torch": ("torch_version", "torch_build", "torch_compute", "python", "env_record"),
    "uv": ("uv_version",),
    "trainers": ("trainers",),
}
DRIFTED = ("drift", "missing")
# Report order: what needs a person first.
ORDER = {"DRIFTED": 0, "FAILED": 1, "UNREACHABLE": 2, "no drift": 3}

# `uv --version` prints "uv 0.13.9 (x86_64-unknown-linux-gnu)": clap's "<name> <version>", the version being
# "<version>[+<commits>] ([<commit> <date> ]<target>)" (astral-sh/uv crates/uv-cli/src/version.rs, the Display of
# SelfVersionInfo, which "is intended for consumption by clap to provide uv --version").
_UV_VERSION = re.compile(r"^uv\s+(\S+)")
# A Debian package version's upstream part, without epoch and revision (deb-version(7)):
# "535.216.01-1~deb12u1" -> "535.216.01", "1:580.95.05-0ubuntu1" -> "580.95.05".
_DEB_UPSTREAM = re.compile(r"^(?:\d+:)?([0-9][0-9.]*[0-9])")


class AuditError(ValueError):
    """An input of the audit that cannot be used; the message says what to change."""


def check_inputs(fields, report_dir):
    """The audit's own variables: ``torchfleet_audit_fields`` (groups of fields) and ``torchfleet_audit_report_dir``.

    Returns True, or raises AuditError naming the variable and what to change.
    """
    if not isinstance(fields, (list, tuple)) or not fields:
        raise AuditError(f"torchfleet_audit_fields must be a non-empty list of {', '.join(GROUPS)}, not {fields!r}.")
    unknown = [f for f in fields if f not in GROUPS]
    if unknown:
        raise AuditError(
            f"torchfleet_audit_fields names {', '.join(map(str, unknown))}, which the audit does not know; "
            f"use some of {', '.join(GROUPS)}."
        )
    if not isinstance(report_dir, str) or not report_dir.startswith("/") or "\n" in report_dir:
        raise AuditError(
            f"torchfleet_audit_report_dir must be an absolute directory on the controller, not {report_dir!r}."
        )
    return True


def _redacted(value):
    """``value`` with the credentials of every URL in it hidden: a .condarc's proxy_servers may carry a password,
    and the report is printed and written to files."""
    if isinstance(value, str):
        return _validate.redact_text(value)
    if isinstance(value, dict):
        return {key: _redacted(item) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return [_redacted(item) for item in value]
    return value


def _result(field, status, wanted=None, found=None, detail=""):
    return {
        "field": field,
        "status": status,
        "wanted": _redacted(wanted),
        "found": _redacted(found),
        "detail": _redacted(detail),
    }


def _same(field, wanted, found, detail=""):
    """ok when equal, missing when nothing was found, drift otherwise."""
    if found in (None, ""):
        return _result(field, "missing", wanted, None, detail or f"{field}: nothing found on the host")
    status = "ok" if str(wanted) == str(found) else "drift"
    return _result(field, status, wanted, found, "" if status == "ok" else detail or f"wanted {wanted}, found {found}")


def _not_applicable(group, why):
    return [_result(field, "not applicable", detail=why) for field in FIELDS[group]]


# ----------------------------------------------------------------------------------------------------- driver
def held_packages(dpkg_lines):
    """Packages whose dpkg selection is hold: the first character of ``db:Status-Abbrev`` is ``h``
    (dpkg-query(1), https://manpages.debian.org/bookworm/dpkg/dpkg-query.1.en.html: the wanted state
    u/i/h/r/p), from lines in _driver.HOLD_QUERY_FORMAT."""
    held = set()
    for line in dpkg_lines or []:
        fields = str(line).split("\t", 3)
        if len(fields) >= 2 and fields[0][:1] == "h":
            held.add(fields[1].strip())
    return held


def versionlocked(locklist, branch):
    """Whether the dnf versionlock list locks nvidia-driver at a version of ``branch``.

    The list is the plugin's ``locklist`` (/etc/dnf/plugins/versionlock.list by default,
    https://dnf-plugins-core.readthedocs.io/en/latest/versionlock.html). ``dnf versionlock add`` writes a
    ``# Added lock on <date>`` comment, then one ``name-epoch:version-release.*`` spec a line; the plugin skips
    ``#`` lines and reads a leading ``!`` as an exclude, which is no lock (rpm-software-management/dnf-plugins-core
    plugins/versionlock.py: _write_locklist, pkgtup2spec, _read_locklist).
    """
    for line in str(locklist or "").splitlines():
        spec = line.strip()
        if not spec or spec.startswith(("#", "!")):
            continue
        match = re.match(r"^nvidia-driver-(?:\d+:)?(\d+)\.", spec)
        if match and int(match.group(1)) == branch:
            return True
    return False


def compare_driver(wanted, found):
    """``wanted``: gpu_driver's plan for the host (and ``hold``: gpu_driver_hold); ``found``: ``installed`` (the
    plan's version_query output), ``running`` (the loaded driver, gpu_facts), ``nvidia_gpus`` (how many NVIDIA GPUs
    gpu_facts sees, loaded driver or not), ``dpkg_lines`` or ``versionlock``."""
    plan = wanted.get("plan") or {}
    if plan.get("action") == "skip":
        return _not_applicable("driver", plan.get("reason") or "the gpu_driver role does nothing here")
    branch = plan.get("branch")
    installed = str(found.get("installed") or "").strip()
    results = [
        _same(
            "driver_branch",
            branch,
            _driver.branch_of(installed) if installed else None,
            f"branch {branch} is asked, driver {installed} is installed",
        )
    ]
    upstream = _DEB_UPSTREAM.match(installed)
    installed_version = upstream.group(1) if upstream else installed
    running = str(found.get("running") or "")
    if not installed:
        results.append(_result("driver_version", "missing", None, running or None, "no driver package is installed"))
    elif not running and not found.get("nvidia_gpus"):
        # A forced install (gpu_driver_force) on a host without an NVIDIA GPU has nothing to load the driver on.
        results.append(_result("driver_version", "not applicable", installed_version, None, "no NVIDIA GPU to load it"))
    elif not running:
        results.append(
            _result(
                "driver_version",
                "drift",
                installed_version,
                None,
                f"driver {installed_version} is installed but not loaded (reboot, or nvidia-smi fails)",
            )
        )
    else:
        results.append(
            _same(
                "driver_version",
                installed_version,
                running,
                f"driver {installed_version} is installed, {running} is loaded: reboot the host",
            )
        )
    results.append(_compare_holds(wanted, found, plan, installed))
    return results


def _compare_holds(wanted, found, plan, installed):
    if not wanted.get("hold", True):
        return _result("driver_holds", "not applicable", detail="gpu_driver_hold is false")
    if not installed:
        return _result("driver_holds", "missing", detail="no driver package to hold")
    if (plan.get("hold") or {}).get("mechanism") == "dnf_versionlock":
        locked = found.get("versionlock")
        if locked is None:
            return _result("driver_holds", "missing", "versionlock", None, "no dnf versionlock list on the host")
        ok = versionlocked(locked, plan.get("branch"))
        return _result(
            "driver_holds",
            "ok" if ok else "drift",
            f"nvidia-driver-{plan.get('branch')}.*",
            "locked" if ok else "not locked",
            "" if ok else f"nvidia-driver of branch {plan.get('branch')} is not versionlocked",
        )
    lines = found.get("dpkg_lines") or []
    should = _driver.hold_selection(plan, lines)
    unheld = sorted(set(should) - held_packages(lines))
    if unheld:
        return _result("driver_holds", "drift", should, sorted(held_packages(lines)), f"not held: {', '.join(unheld)}")
    return _result("driver_holds", "ok", should, should)


# ------------------------------------------------------------------------------------------------------ conda
def compare_conda(wanted, found):
    """``wanted``: ``distribution``, ``version`` (the miniconda role's resolution) and ``condarc`` (the mapping it
    writes); ``found``: ``marker`` (conda_prefix_info's record of the install, or None), ``state`` and ``condarc``
    (the parsed file, None when absent, a string when it could not be read as a mapping)."""
    if wanted.get("skip"):
        return _not_applicable("conda", wanted["skip"])
    marker = found.get("marker") if isinstance(found.get("marker"), dict) else {}
    if found.get("state") != "complete" or not marker:
        state = found.get("state") or "absent"
        why = f"no complete installation recorded at the prefix (state {state})"
        results = [
            _result("conda_distribution", "missing", wanted.get("distribution"), None, why),
            _result("conda_version", "missing", wanted.get("version"), None, why),
        ]
    else:
        results = [
            _same("conda_distribution", wanted.get("distribution"), marker.get("distribution")),
            _same("conda_version", wanted.get("version"), marker.get("version")),
        ]
        if wanted.get("version") == "latest" and marker.get("version"):
            results[1] = _result("conda_version", "ok", "latest", marker.get("version"))
    results.append(compare_condarc(wanted.get("condarc") or {}, found.get("condarc")))
    return results


def compare_condarc(wanted, found):
    """Each key the role writes must hold the value it writes; keys the role does not write are not compared."""
    if found is None:
        return _result("condarc", "missing", wanted, None, ".condarc is not on the host")
    if not isinstance(found, dict):
        return _result("condarc", "drift", wanted, found, f".condarc cannot be read as a mapping: {found}")
    differ = sorted(key for key in wanted if found.get(key) != wanted[key])
    if differ:
        shown = "; ".join(f"{key}: wanted {wanted[key]!r}, found {found.get(key)!r}" for key in differ)
        return _result("condarc", "drift", {k: wanted[k] for k in differ}, {k: found.get(k) for k in differ}, shown)
    return _result("condarc", "ok", wanted, {k: found[k] for k in wanted})


# ------------------------------------------------------------------------------------------------------ torch
def compare_torch(wanted, found):
    """``wanted``: pytorch_env's resolved build (``torch``, ``compute``, ``python``); ``found``: ``info`` (torch_info's
    result, None when the environment has no Python) and ``record`` (torchfleet-env.json parsed, None when absent)."""
    info = found.get("info")
    if not isinstance(info, dict) or not info.get("version"):
        why = found.get("error") or "no environment with torch at the prefix"
        results = [_result(field, "missing", detail=why) for field in FIELDS["torch"][:4]]
    else:
        version = str(info["version"])
        mismatch = _pytorch_env.build_mismatch(wanted.get("compute"), version, info.get("cuda"), info.get("hip"))
        python = str(info.get("python_version") or "")
        python_ok = re.match(re.escape(str(wanted.get("python"))) + r"(\.|$)", python) is not None
        results = [
            _same("torch_version", wanted.get("torch"), version.split("+", 1)[0]),
            _result(
                "torch_build",
                "drift" if mismatch else "ok",
                wanted.get("compute"),
                version + (f" (CUDA {info['cuda']})" if info.get("cuda") else ""),
                mismatch,
            ),
            None,  # torch_compute, from the record below
            _result(
                "python",
                "ok" if python_ok else "drift",
                wanted.get("python"),
                python,
                "" if python_ok else f"Python {wanted.get('python')} is asked, the environment runs {python}",
            ),
        ]
    record = found.get("record")
    if not isinstance(record, dict):
        results[2] = _result("torch_compute", "missing", wanted.get("compute"), None, "no torchfleet-env.json record")
        results.append(_result("env_record", "missing", detail="no torchfleet-env.json record in the environment"))
        return results
    resolved = record.get("resolved") if isinstance(record.get("resolved"), dict) else {}
    results[2] = _same(
        "torch_compute",
        wanted.get("compute"),
        resolved.get("compute"),
        f"the environment was made for {resolved.get('compute')}, {wanted.get('compute')} is asked",
    )
    results.append(_compare_record(record, info if isinstance(info, dict) else {}))
    return results


def _compare_record(record, info):
    """The record pytorch_env wrote must say what the environment holds (torch with its label, Python)."""
    installed = record.get("installed") if isinstance(record.get("installed"), dict) else {}
    said = {"torch": installed.get("torch"), "python": installed.get("python")}
    holds = {"torch": info.get("version"), "python": info.get("python_version")}
    if not info.get("version"):
        return _result("env_record", "missing", said, None, "the environment has no torch to compare the record with")
    differ = [key for key in said if str(said[key]) != str(holds[key])]
    if differ:
        shown = "; ".join(f"the record says {key} {said[key]}, the environment holds {holds[key]}" for key in differ)
        return _result("env_record", "drift", holds, said, shown)
    return _result("env_record", "ok", holds, said)


# --------------------------------------------------------------------------------------------------------- uv
def uv_version(output):
    """The version from `uv --version` output, or ''."""
    match = _UV_VERSION.match(str(output or "").strip())
    return match.group(1) if match else ""


def compare_uv(wanted, found):
    if wanted.get("skip"):
        return _not_applicable("uv", wanted["skip"])
    got = uv_version(found.get("output"))
    return [_same("uv_version", str(wanted.get("version")), got, f"uv {wanted.get('version')} is asked, {got} runs")]


# --------------------------------------------------------------------------------------------------- trainers
def compare_trainers(wanted, found):
    """``wanted``: script name -> SHA-1 of the file the trainers role deploys; ``found``: script name -> SHA-1 of
    the deployed file (None when it is not there)."""
    wanted_sums = wanted.get("sha1") or {}
    found_sums = found.get("sha1") or {}
    missing = sorted(name for name in wanted_sums if not found_sums.get(name))
    edited = sorted(name for name in wanted_sums if found_sums.get(name) and found_sums[name] != wanted_sums[name])
    if len(missing) == len(wanted_sums):
        return [_result("trainers", "missing", wanted_sums, None, "the trainers are not deployed")]
    if missing or edited:
        parts = ([f"edited: {', '.join(edited)}"] if edited else []) + (
            [f"absent: {', '.join(missing)}"] if missing else []
        )
        return [_result("trainers", "drift", wanted_sums, found_sums, "; ".join(parts))]
    return [_result("trainers", "ok", wanted_sums, found_sums)]


COMPARE = {
    "driver": compare_driver,
    "conda": compare_conda,
    "torch": compare_torch,
    "uv": compare_uv,
    "trainers": compare_trainers,
}


def compare_host(wanted, found):
    """Every audited field of one host: ``wanted`` and ``found`` map a group of GROUPS to its inputs; a group
    missing from ``wanted`` was not audited."""
    if not isinstance(wanted, dict) or not isinstance(found, dict):
        raise AuditError("compare_host takes two mappings of field group to values")
    results = []
    for group in GROUPS:
        if group in wanted:
            results.extend(COMPARE[group](wanted[group] or {}, found.get(group) or {}))
    return results


# ----------------------------------------------------------------------------------------------------- report
def host_entry(host, values):
    """One host's line of the report from its hostvars: the audit result, a failure, or nothing (unreachable)."""
    values = values or {}
    failure = values.get("torchfleet_audit_failure")
    fields = values.get("torchfleet_audit") if isinstance(values.get("torchfleet_audit"), list) else []
    drifted = [f for f in fields if f.get("status") in DRIFTED]
    if drifted:
        result = "DRIFTED"
    elif failure:
        result = "FAILED"
    elif not values.get("ansible_facts") and not fields:
        result = "UNREACHABLE"
    else:
        result = "no drift"
    return {
        "host": host,
        "result": result,
        "drifted": [f["field"] for f in drifted],
        "failure": str(failure or ""),
        "fields": fields,
    }


def _cell(value):
    return " ".join(str(value).split()).replace("|", "\\|")


def report(hosts, hostvars):
    """The report of the hosts the play targeted, drifted and failed hosts first: ``hosts`` (the entries),
    ``drifted`` and ``failed`` (names) and ``markdown`` (the table)."""
    entries = sorted(
        (host_entry(h, hostvars.get(h)) for h in dict.fromkeys(hosts)), key=lambda e: (ORDER[e["result"]], e["host"])
    )
    lines = ["| Host | Result | Drifted fields | Details |", "|---|---|---|---|"]
    for entry in entries:
        if entry["result"] == "DRIFTED":
            details = "; ".join(f"{f['field']}: {f['detail']}" for f in entry["fields"] if f["status"] in DRIFTED)
        elif entry["result"] == "FAILED":
            details = f"the audit failed: {entry['failure']}"
        elif entry["result"] == "UNREACHABLE":
            details = "no facts were read from the host"
        else:
            matching = sum(f["status"] == "ok" for f in entry["fields"])
            details = f"{matching} field{'s match' if matching != 1 else ' matches'}, the rest not applicable"
        cells = [entry["host"], entry["result"], ", ".join(entry["drifted"]) or "-", details]
        lines.append("| " + " | ".join(_cell(c) for c in cells) + " |")
    return {
        "hosts": entries,
        "drifted": [e["host"] for e in entries if e["result"] == "DRIFTED"],
        "failed": [e["host"] for e in entries if e["result"] in ("FAILED", "UNREACHABLE")],
        "markdown": "\n".join(lines) + "\n",
    }
