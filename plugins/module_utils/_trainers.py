# Copyright: torchfleet.lab contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Where the sample trainers go on a host, how each run is started, and what a request may ask.

Private to torchfleet.lab.  Standard library only and Python 3.8 syntax, like the other module_utils.
The ``trainers_plan`` and ``trainers_single_run`` filters are thin wrappers around :func:`plan` and
:func:`single_run`; the trainers role carries out what they return, with POSIX modules on Linux and macOS
and PowerShell modules on Windows, so both kinds of host decide the same way.  The ``trainers_ddp_*`` filters
wrap the ``ddp_*`` functions, which make the decisions of a distributed run (roles/trainers/tasks/distributed.yml
only gathers the hosts' results and carries them out).

Choices made here:
- ``trainers_scope: auto`` follows the scope of the PyTorch environment it runs (``torchfleet_torch.scope``, or
  ``pytorch_env_scope``), so a user's environment is never run by root; without one it is ``user`` on macOS (a
  Mac belongs to its login; nothing there needs sudo) and ``system`` on Linux and Windows (lab machines share
  one copy), as for ``miniconda_scope``.
- ``trainers_dir`` and ``trainers_data_dir`` pass the collection's path rules (``_validate.check_path``:
  absolute, normalised, never ``/``, a system directory or a home root) and are not the connecting user's home
  itself: the role creates them as root and sets the mode of what it creates (``trainers_dir: /`` once made
  ``/`` 0755).
- The rendezvous address is ``trainers_master_addr`` (an IP address or a DNS name, nothing a shell or torchrun
  would read as more), else the first host's IPv4 address on ``trainers_master_interface``, else its default
  IPv4 address; the port is 1-65535.  The run id is ``secrets.token_hex(16)``, drawn on the first host's plan.
- A distributed run needs its whole ``trainers_group`` in the play: a group the inventory does not hold, or a
  ``--limit`` that leaves some of its hosts out, is refused before anything changes.
- Default directories (``_platform.default_dir``): ``/opt/torchfleet/trainers`` (system) and
  ``~/.local/share/torchfleet/trainers`` (user, XDG's data home) on Linux and macOS;
  ``C:\\ProgramData\\torchfleet\\trainers`` (system: the all-users application data folder) and
  ``%USERPROFILE%\\AppData\\Local\\torchfleet\\trainers`` (user: the per-user, non-roaming folder Windows keeps
  application data in, so tens of MB of data and runs do not travel with a roaming profile; the miniconda role
  keeps its user cache under the same folder).
- At system scope on Linux the trainers run as ``trainers_user`` (an unprivileged account, created by the role
  unless ``trainers_user_create`` is false), never as root: root starts them through util-linux ``runuser -u
  USER --`` (https://man7.org/linux/man-pages/man1/runuser.1.html), which keeps the environment (the job's
  tag) and passes the exit status on.  torchrun's store unpickles what it reads, so a root job would hand
  whoever reaches the port a root shell (docs/trainers-security.md).
- ``become`` only for system scope on Linux and macOS.  Windows has no sudo: system scope there needs an
  administrator connection, and no task of the role escalates.
- Distributed training (torchrun, and ``stop_job.py`` that finds the job's processes in /proc) is Linux
  only; macOS's MPS has no collective backend and Windows builds ship without NCCL.
- A run is named after a digest of what it depends on (script, data, interpreter, parameters), so a run
  whose metrics already exist is not repeated; the digest is the SHA-1 of the inputs as Ansible's
  ``to_json(sort_keys=true)`` writes them, which keeps the names of runs made by earlier releases.

The public MNIST files: LeCun, Cortes and Burges, http://yann.lecun.com/exdb/mnist/, as torchvision
downloads them from its first mirror (torchvision/datasets/mnist.py, ``MNIST.mirrors``).  SHA-256 sums as
published with TensorFlow Datasets' mnist checksums and recomputed by several projects; torchvision itself
lists MD5s (f68b3c2d..., d53e105e..., 9fb629c4..., ec29112d...) for the same bytes.
"""

import difflib
import hashlib
import json
import re
import secrets
from dataclasses import dataclass
from typing import Any

from ansible_collections.torchfleet.lab.plugins.module_utils import _mirror, _platform, _validate

KNOWN_TRAINERS = ("linear_regression", "mnist_cnn")
SCOPES = _platform.SCOPES

MNIST_FILES = (
    "train-images-idx3-ubyte.gz",
    "train-labels-idx1-ubyte.gz",
    "t10k-images-idx3-ubyte.gz",
    "t10k-labels-idx1-ubyte.gz",
)
MNIST_UPSTREAM = "https://ossci-datasets.s3.amazonaws.com/mnist/"
MNIST_UPSTREAM_SHA256 = {
    "train-images-idx3-ubyte.gz": "440fcabf73cc546fa21475e81ea370265605f56be210a4024d2ca8f203523609",
    "train-labels-idx1-ubyte.gz": "3552534a0a558bbed6aed32b30c495cca23d567ec52cac8be1a0730e8010255c",
    "t10k-images-idx3-ubyte.gz": "8d422c7b0a1c1c79245a5bcf07fe86e33eeafee792b84584aec276f5a2dbc4e6",
    "t10k-labels-idx1-ubyte.gz": "f7ae60f92e00ec6debd23a6088c31dbd2371eca3ffa0defaefb259924204aec6",
}

# stop_job.py stops a distributed job through /proc, job_lease.py stops it when the controller is gone, and
# rendezvous_probe.py checks the rendezvous port before a launch, so they go only where distributed runs happen;
# so does health_allreduce.py, which runs under torchrun. health_check.py (playbooks/health.yml's burn-in) measures
# one host's device, which any host can.
_SCRIPTS = {
    "Linux": (
        "linear_regression.py",
        "mnist_cnn.py",
        "stop_job.py",
        "job_lease.py",
        "rendezvous_probe.py",
        "health_check.py",
        "health_allreduce.py",
    ),
    "Darwin": ("linear_regression.py", "mnist_cnn.py", "health_check.py"),
    "Windows": ("linear_regression.py", "mnist_cnn.py", "health_check.py"),
}
# What a distributed run launches under torchrun: the trainer (train.yml), or the all-reduce of the burn-in
# (health.yml), which is no trainer: it runs across the group whatever trainers_run holds.
DDP_SCRIPTS = ("mnist_cnn", "health_allreduce")
_DEVICE_RE = re.compile(r"^(auto|cpu|mps|cuda(:[0-9]+)?)$")
_SHA256_RE = re.compile(r"^[0-9a-f]{64}$")
_WINDOWS_ABSOLUTE_RE = re.compile(r"^([A-Za-z]:\\|\\\\[^\\]+\\[^\\]+)")
# useradd(8), CAVEATS: begin with a lower case letter or an underscore, then lower case letters, digits,
# underscores or dashes; at most 32 characters (https://man7.org/linux/man-pages/man8/useradd.8.html).
_USER_RE = re.compile(r"^[a-z_][a-z0-9_-]{0,31}$")


class TrainersPlanError(ValueError):
    """A request the trainers role cannot carry out; the message says what to change."""


def normalise_system(system):
    """``Linux``, ``Darwin`` or ``Windows`` for any spelling of ``ansible_facts['system']``."""
    name = _platform.system_name(system)
    if not name:
        raise TrainersPlanError(
            f"The trainers role runs on Linux, macOS (Darwin) and Windows; this host reports {system!r} "
            "(ansible_facts['system']). Leave it out of the play."
        )
    return name


def family(system):
    """``windows`` (PowerShell modules) or ``posix`` (Python modules)."""
    return _platform.family(normalise_system(system))


def resolve_scope(scope, system, env_scope=""):
    """``system`` or ``user`` for ``trainers_scope``; ``auto`` is the scope of the PyTorch environment
    (``env_scope``: ``torchfleet_torch.scope`` or ``pytorch_env_scope``) when that is known, else the OS's."""
    if str(scope or "").strip().lower() not in SCOPES:
        raise TrainersPlanError(f"trainers_scope {scope!r} is not one of auto, system, user.")
    resolved = _platform.resolve_scope(scope, system, str(env_scope or "").strip().lower())
    if resolved is None:  # auto, on an OS the role does not run on: refuse it by name
        normalise_system(system)
    return resolved


def needs_become(scope, system):
    """Whether the role escalates: system scope on Linux and macOS only (Windows has no sudo)."""
    return _platform.needs_become(resolve_scope(scope, system), normalise_system(system))


def separator(system):
    return _platform.separator(normalise_system(system))


def join(system, *parts):
    """Join path parts with the host's separator."""
    sep = separator(system)
    head, rest = parts[0], parts[1:]
    for part in rest:
        head = head.rstrip("\\/" if sep == "\\" else "/") + sep + part.strip("\\/" if sep == "\\" else "/")
    return head


def normalise_path(path, system):
    """An absolute path in the host's own form (backslashes on Windows, no trailing separator), or None when
    ``path`` is not absolute there."""
    text = str(path or "").strip()
    if normalise_system(system) == "Windows":
        text = text.replace("/", "\\")
        if not _WINDOWS_ABSOLUTE_RE.match(text):
            return None
        stripped = text.rstrip("\\")
        return stripped + "\\" if re.match(r"^[A-Za-z]:$", stripped) else stripped
    if not text.startswith("/"):
        return None
    return text.rstrip("/") or "/"


def check_dir(name, value, system, home, problems):
    """The directory ``value`` in the host's form, or None with a problem appended.  The rules are the
    collection's one set (:func:`_validate.check_path` with ``kind="dir"``: absolute, normalised, a length the
    OS takes, never ``/``, a system directory, a home root, nor under /proc, /sys or /dev); this adds the
    connecting user's own home (``ansible_facts['user_dir']``), which the role would fill as that user."""
    os_name = normalise_system(system)
    found = _validate.check_path(name, value, windows=os_name == "Windows", kind="dir", optional=False)
    if found:
        problems.extend(found)
        return None
    path = normalise_path(value, system)
    home_path = normalise_path(home, system) if home else None
    if home_path and path.casefold() == home_path.casefold():
        problems.append(
            f"{name} ({value!r}) is the connecting user's home directory itself; give a directory inside it, "
            f"e.g. {join(system, path, 'torchfleet')}."
        )
        return None
    return path


def check_rendezvous(master_addr, master_port, problems):
    """``trainers_master_addr`` (empty, an IP address or a DNS name: the value reaches torchrun's command line
    as HOST:PORT) and ``trainers_master_port`` (1-65535), by the collection's rules
    (:func:`_validate.check_host`, :func:`_validate.check_port`).  Returns (address, port); the port is 0
    when it is refused."""
    address = master_addr if master_addr is not None else ""
    # check_host refuses 10.0.0.1:29400, which torchrun would read as HOST:PORT:PORT.
    found = _validate.check_host("trainers_master_addr", address)
    port_problems = _validate.check_port("trainers_master_port", master_port)
    problems.extend(found + port_problems)
    port = 0 if port_problems else int(master_port)
    return ("" if found else str(address).strip()), port


def rendezvous_endpoint(master_addr, master_port, master_facts, interface=""):
    """Where every host finds the rendezvous: ``trainers_master_addr``, else the first host's IPv4 address on
    ``interface`` (as ``ansible_facts`` names it: hyphens become underscores), else its default IPv4 address.
    Returns ``{"addr", "port", "endpoint"}``, or raises naming what to set."""
    problems = []
    address, port = check_rendezvous(master_addr, master_port, problems)
    if problems:
        raise TrainersPlanError(" ".join(problems))
    facts = master_facts or {}
    interface = str(interface or "").strip()
    if not address and interface:
        found = facts.get(interface.replace("-", "_").replace(".", "_")) or {}
        address = str((found.get("ipv4") or {}).get("address") or "") if isinstance(found, dict) else ""
        if not address:
            known = ", ".join(sorted(str(name) for name in facts.get("interfaces") or [])) or "none gathered"
            raise TrainersPlanError(
                f"trainers_master_interface ({interface!r}) has no IPv4 address on the first host of "
                f"trainers_group (its interfaces: {known}); name the lab network's interface, or set "
                "trainers_master_addr."
            )
    if not address:
        address = str((facts.get("default_ipv4") or {}).get("address") or "")
    if not address:
        raise TrainersPlanError(
            "The first host of trainers_group reports no default IPv4 address (gather its facts: it may be "
            "unreachable); set trainers_master_addr or trainers_master_interface to its lab network."
        )
    host = f"[{address}]" if ":" in address else address
    return {"addr": address, "port": port, "endpoint": f"{host}:{port}"}


def run_id():
    """An unguessable id for one distributed launch (torchrun's --rdzv-id and the tag of its processes)."""
    return "torchfleet-" + secrets.token_hex(16)


def check_group(request, problems):
    """A distributed run needs ``trainers_group`` in the inventory, this host in it, and all of it in the play
    (``request.play_hosts``: ``ansible_play_hosts_all``, which ``--limit`` narrows)."""
    group, host = request.group, request.host
    inventory_groups, play_hosts = request.inventory_groups, request.play_hosts
    group_hosts = list(request.group_systems or {})
    if inventory_groups is not None and group not in inventory_groups:
        close = difflib.get_close_matches(str(group), [str(name) for name in inventory_groups], n=1)
        hint = f" Did you mean {close[0]}?" if close else ""
        problems.append(
            f"trainers_group ({group!r}) is not a group of the inventory (its groups: "
            f"{', '.join(sorted(str(name) for name in inventory_groups))}).{hint}"
        )
        return
    hosts = list(group_hosts or [])
    if host and hosts and host not in hosts:
        problems.append(
            f"{host} is in the play but not in trainers_group ({group}), whose hosts train together; run the play "
            f"on that group only, or set trainers_distributed: false for {host}."
        )
    if play_hosts is not None:
        left_out = [name for name in hosts if name not in play_hosts]
        if left_out:
            problems.append(
                f"The play leaves out {', '.join(left_out)} of trainers_group ({group}) (a --limit, or the play's "
                f"hosts:), but the torchrun job needs every host of the group: drop the --limit, or set "
                f"trainers_group to a group that holds only the hosts you mean to train on."
            )
            return
    # ``other_batches``: the play's hosts that run in another batch than this one (the play keyword serial).
    apart = [name for name in hosts if name in (request.other_batches or ())]
    if apart:
        problems.append(
            f"The play's serial puts {', '.join(apart)} of trainers_group ({group}) in another batch than "
            f"{host or 'this host'}, but the torchrun job needs every host of the group at once: drop serial from "
            "the play (train.yml: torchfleet_serial), or set trainers_distributed: false to train host by host."
        )


def run_as(user, scope, system, problems):
    """The account the trainers run as: ``trainers_user`` at system scope on Linux, else "" (the connecting
    user at user scope; macOS and Windows system scope keep their own rules, see the module notes)."""
    if normalise_system(system) != "Linux" or scope != "system":
        return ""
    name = user if isinstance(user, str) else ""
    if not _USER_RE.match(name):
        problems.append(
            f"trainers_user ({user!r}) must be an account name: a lower case letter or _, then lower case letters, "
            "digits, _ or -, at most 32 characters (useradd(8))."
        )
        return ""
    if name == "root":
        problems.append(
            "trainers_user is root, but the trainers never run as root: torchrun's rendezvous store unpickles what "
            "it reads from the network (docs/trainers-security.md). Name an unprivileged account."
        )
        return ""
    return name


def default_dir(system, scope, home):
    """``trainers_dir`` when it is empty."""
    os_name = normalise_system(system)
    resolved = resolve_scope(scope, system)
    if resolved == "system":
        return _platform.default_dir(os_name, resolved, "trainers")
    base = normalise_path(home, system)
    if not base:
        raise TrainersPlanError(
            f"trainers_scope user puts the trainers in the connecting user's home, but the host reports none "
            f"(ansible_facts['user_dir'] is {home!r}): gather facts, or set trainers_dir."
        )
    return join(system, base, _platform.default_dir(os_name, resolved, "trainers"))


def _as_int(value, name, minimum, problems, what):
    """``value`` as an int (Ansible hands over ``-e`` values as strings); a problem when it is none or too
    small (``minimum`` None: any whole number)."""
    try:
        number = int(str(value).strip()) if not isinstance(value, bool) else None
    except (TypeError, ValueError):
        number = None
    if number is None or (minimum is not None and number < minimum):
        problems.append(f"{name} ({value!r}) must be {what}.")
        return minimum or 0
    return number


def _as_bool(value):
    if isinstance(value, str):
        return value.strip().lower() in ("1", "true", "yes", "on", "y", "t")
    return bool(value)


def _check_device(device, os_name, problems):
    if not _DEVICE_RE.match(str(device)):
        problems.append(f"trainers_device ({device!r}) must be auto, cpu, mps, cuda or cuda:N.")
    elif device == "mps" and os_name != "Darwin":
        problems.append(
            f"trainers_device mps is Apple's Metal backend, which exists on macOS only; this host runs "
            f"{_platform.display_name(os_name)}: use auto, cpu or cuda."
        )
    elif device.startswith("cuda") and os_name == "Darwin":
        problems.append(
            "trainers_device cuda: PyTorch has no CUDA build for macOS; use auto (mps on Apple silicon, else cpu), "
            "mps or cpu."
        )


def _check_distributed(os_name, host, group, group_systems, problems):
    """Distributed mnist_cnn runs under torchrun on Linux hosts only; say which hosts are in the way."""
    if os_name != "Linux":
        problems.append(
            f"trainers_distributed runs mnist_cnn under torchrun across trainers_group, which this collection "
            f"supports on Linux only (the job is stopped through /proc, macOS's MPS has no collective backend, "
            f"Windows builds have no NCCL); {host or 'this host'} runs {_platform.display_name(os_name)}. Set "
            f"trainers_distributed: false for the hosts of trainers_group ({group}) so that each trains on its "
            f"own (with playbooks/train.yml: in their group_vars, or -e trainers_distributed=false), or leave "
            f"{host or 'this host'} out of trainers_group."
        )
        return
    others = []
    for name in sorted(group_systems or {}):
        reported = group_systems[name]
        if not reported:  # no facts (unreachable): the distributed run names it when the job fails
            continue
        other = _platform.system_name(reported)
        if other != "Linux":
            others.append(f"{name} ({_platform.display_name(other or reported)})")
    if others:
        problems.append(
            f"trainers_group ({group}) holds hosts that are not Linux: {', '.join(others)}; the distributed "
            f"mnist_cnn run needs every host of the group on Linux. Leave those hosts out of trainers_group "
            f"(e.g. -e trainers_group=<a group of the Linux hosts>), or set trainers_distributed: false for the "
            f"whole group so that each host trains on its own."
        )


def data_files(system, data_dir, data_url, sha256, mirror_copy=False):
    """Each MNIST file: its URL, where it goes, and what verifies it (an explicit sum, the known sum of the
    public file, or the SHA256SUMS file published beside it). ``mirror_copy``: the URL is torchfleet_mirror_url's
    copy of the public files, which the known sums still check (the mirror's SHA256SUMS comes from the server it
    checks); a trainers_data_url the user gives may hold other files, so only its SHA256SUMS or their sums."""
    files = []
    for name in MNIST_FILES:
        explicit = str((sha256 or {}).get(name) or "").strip().lower()
        known = MNIST_UPSTREAM_SHA256[name] if data_url == MNIST_UPSTREAM or mirror_copy else None
        digest = explicit or known
        checksum_url = None if digest else data_url + "SHA256SUMS"
        files.append(
            {
                "name": name,
                "url": data_url + name,
                "dest": join(system, data_dir, name),
                "sha256": digest,
                "checksum_url": checksum_url,
                # ansible.builtin.get_url's form of the same choice.
                "checksum": "sha256:" + (digest or checksum_url),
            }
        )
    return files


@dataclass
class Request:
    """A trainers request for one host: the role's ``trainers_*`` variables without their prefix (``mirror_url``
    is ``torchfleet_mirror_url``, ``env_scope`` the PyTorch environment's scope), and the facts read from the host
    (``system``, ``home``) and from the rest of the play (``group_systems``, ``inventory_groups``, ``play_hosts``,
    ``other_batches``, ``master_facts``)."""

    system: Any
    home: Any = ""
    host: Any = ""
    scope: Any = "auto"
    trainers_dir: Any = ""
    data_dir: Any = ""
    python: Any = ""
    run: Any = KNOWN_TRAINERS
    epochs: Any = 2
    limit: Any = 512
    device: Any = "auto"
    seed: Any = 0
    nproc_per_node: Any = 1
    timeout: Any = 600
    data_url: Any = ""
    data_sha256: Any = None
    data_download: Any = True
    mirror_url: Any = ""
    distributed: Any = False
    group: Any = "all"
    group_systems: Any = None
    env_scope: Any = ""
    master_addr: Any = ""
    master_port: Any = 29400
    inventory_groups: Any = None
    play_hosts: Any = None
    other_batches: Any = None
    master_facts: Any = None
    master_interface: Any = ""
    user: Any = "torchfleet-trainer"
    ddp_script: Any = "mnist_cnn"


def plan(system, **options):
    """Check a trainers request for one host and decide its paths, privilege, files and data.

    ``options`` are the fields of :class:`Request` after ``system``.  Every problem found is reported at once,
    each with what to change.  Returns a dict: ``system``, ``family``, ``scope``, ``become``, ``sep``, ``dir``,
    ``scripts_dir``, ``runs_dir``, ``data_dir``, ``python``, ``directories`` (to create), ``scripts``
    (``src``/``dest``), ``data_url``, ``data`` (see :func:`data_files`), ``download``, ``run``, ``epochs``,
    ``limit``, ``device``, ``seed``, ``distributed``, ``run_id`` (this host's draw: the first host's is the
    job's), ``timeout``, ``rendezvous``, ``ddp_script`` (what a distributed run launches), ``run_as`` (the account
    the trainers run as, "" for the connecting user) and ``run_prefix`` (the words that start a command as that
    account).
    """
    return _plan(Request(system, **options))


def _plan(request):
    """The checks in the order their problems are reported, then the paths and data they allow."""
    os_name = normalise_system(request.system)
    problems = []
    try:
        resolved_scope = resolve_scope(request.scope, request.system, request.env_scope)
    except TrainersPlanError as exc:
        problems.append(str(exc))
        resolved_scope = _platform.resolve_scope("auto", os_name)
    run = _checked_run(request.run, problems)
    numbers = _checked_numbers(request, problems)
    device = str(request.device or "").strip()
    _check_device(device, os_name, problems)
    base, data = _checked_dirs(request, resolved_scope, problems)
    check_rendezvous(request.master_addr, request.master_port, problems)
    account = run_as(request.user, resolved_scope, request.system, problems)
    sums = _checked_sums(request.data_sha256, problems)
    ddp_script = _checked_ddp_script(request.ddp_script, problems)
    distributed = _as_bool(request.distributed) and (ddp_script != "mnist_cnn" or "mnist_cnn" in run)
    rendezvous = _checked_rendezvous(request, os_name, problems) if distributed else None
    if problems:
        where = " on " + request.host if request.host else ""
        raise TrainersPlanError(f"Check the trainers variables{where}: " + " ".join(problems))
    scripts_dir = join(request.system, base, "scripts")
    runs_dir = join(request.system, base, "runs")
    download = _as_bool(request.data_download)
    result = {
        "system": os_name,
        "family": family(request.system),
        "scope": resolved_scope,
        "become": needs_become(resolved_scope, request.system),
        "sep": separator(request.system),
        "dir": base,
        "scripts_dir": scripts_dir,
        "runs_dir": runs_dir,
        "data_dir": data,
        "python": str(request.python or ""),
        "directories": [base, scripts_dir, runs_dir] + ([data] if download else []),
        "scripts": [{"src": name, "dest": join(request.system, scripts_dir, name)} for name in _SCRIPTS[os_name]],
    }
    result.update(_data_plan(request, data, sums, download and "mnist_cnn" in run))
    result.update(run=run, epochs=numbers["epochs"], limit=numbers["limit"], device=device, seed=numbers["seed"])
    result.update(distributed=distributed, timeout=numbers["timeout"], run_id=run_id(), rendezvous=rendezvous)
    result.update(ddp_script=ddp_script)
    result.update(run_as=account, run_prefix=["runuser", "-u", account, "--"] if account else [])
    return result


def _checked_ddp_script(script, problems):
    """What the distributed run launches: one of :data:`DDP_SCRIPTS` (the playbooks set it, users do not)."""
    name = str(script or "mnist_cnn")
    if name not in DDP_SCRIPTS:
        problems.append(f"The distributed run launches one of {', '.join(DDP_SCRIPTS)}, not {script!r}.")
        return "mnist_cnn"
    return name


def _checked_run(run, problems):
    """``trainers_run`` as a list of names of this collection's trainers."""
    if isinstance(run, str) or not isinstance(run, (list, tuple)):
        problems.append(f"trainers_run ({run!r}) must be a list naming any of {', '.join(KNOWN_TRAINERS)}.")
        run = []
    run = [str(name) for name in run]
    unknown = [name for name in run if name not in KNOWN_TRAINERS]
    if unknown:
        problems.append(
            f"trainers_run ({', '.join(run)}) may only name {', '.join(KNOWN_TRAINERS)}; "
            f"{', '.join(unknown)} is not a trainer of this collection."
        )
    return run


def _checked_numbers(request, problems):
    """The whole numbers of the request, as the plan returns them (``nproc_per_node`` is only checked)."""
    numbers = {
        "epochs": _as_int(request.epochs, "trainers_epochs", 1, problems, "a whole number, at least 1"),
        "limit": _as_int(request.limit, "trainers_limit", 0, problems, "a whole number, 0 (all images) or more"),
        "seed": _as_int(request.seed, "trainers_seed", None, problems, "a whole number"),
    }
    _as_int(request.nproc_per_node, "trainers_nproc_per_node", 1, problems, "a whole number, at least 1")
    numbers["timeout"] = _as_int(
        request.timeout, "trainers_timeout", 10, problems, "a whole number of seconds, at least 10"
    )
    return numbers


def _checked_dirs(request, resolved_scope, problems):
    """``trainers_dir`` (or its default) and ``trainers_data_dir`` (or ``data/mnist`` below it)."""
    system, home = request.system, request.home
    base = None
    if request.trainers_dir:
        base = check_dir("trainers_dir", request.trainers_dir, system, home, problems)
    if not base:
        try:
            base = default_dir(system, resolved_scope, home)
        except TrainersPlanError as exc:
            problems.append(str(exc))
            base = _platform.default_dir(normalise_system(system), "system", "trainers")
    data = None
    if request.data_dir:
        data = check_dir("trainers_data_dir", request.data_dir, system, home, problems)
    return base, data or join(system, base, "data", "mnist")


def _checked_sums(data_sha256, problems):
    """``trainers_data_sha256``: a mapping of MNIST file name to its SHA-256."""
    sums = data_sha256 or {}
    if not isinstance(sums, dict):
        problems.append(f"trainers_data_sha256 must be a mapping of file name to SHA-256, not {sums!r}.")
        return {}
    for name in sorted(sums):
        if name not in MNIST_FILES:
            problems.append(f"trainers_data_sha256 names {name!r}, which is none of {', '.join(MNIST_FILES)}.")
        elif not _SHA256_RE.match(str(sums[name] or "").strip().lower()):
            problems.append(
                f"trainers_data_sha256[{name!r}] ({sums[name]!r}) is not a SHA-256: give the 64 hexadecimal "
                "digits sha256sum prints for the file."
            )
    return sums


def _checked_rendezvous(request, os_name, problems):
    """A distributed run's hosts checked, and its rendezvous endpoint when the address can be known."""
    group, host = request.group, request.host
    _check_distributed(os_name, host, group, request.group_systems, problems)
    check_group(request, problems)
    # master_facts None: the caller (a unit test, a check of the variables alone) did not ask for the address.
    if problems or (request.master_facts is None and not str(request.master_addr or "").strip()):
        return None
    try:
        return rendezvous_endpoint(
            request.master_addr, request.master_port, request.master_facts, request.master_interface
        )
    except TrainersPlanError as exc:
        problems.append(str(exc))
        return None


def _data_plan(request, data, sums, download):
    """Where the MNIST files come from and go, and a warning when nothing pins them (``download``: the run
    needs them fetched)."""
    data_url, mirror_url = str(request.data_url or "").strip(), request.mirror_url
    url = data_url or ((mirror_url.rstrip("/") + "/mnist/") if mirror_url else MNIST_UPSTREAM)
    url = url.rstrip("/") + "/"
    files = data_files(request.system, data, url, sums, mirror_copy=not data_url and bool(mirror_url))
    unpinned = [f for f in files if not f["sha256"]] if download else []
    warning = unpinned and _mirror.sidecar_warning(
        "The MNIST files", url, None, unpinned[0]["checksum_url"], "trainers_data_sha256"
    )
    return {"data_url": url, "data": files, "warnings": [warning] if warning else [], "download": download}


def run_key(inputs, script, script_sha1):
    """The 12-hex-digit name of a single-host run: what it depends on, as Ansible's
    ``(inputs | combine({'script': sha1, 'mode': 'single'}) | to_json(sort_keys=true) | hash('sha1'))[:12]``
    computes it (linear_regression reads no data, so the data is left out of its key)."""
    merged = dict(inputs)
    merged.update({"script": script_sha1, "mode": "single"})
    if script == "linear_regression":
        merged["data"] = []
    text = json.dumps(merged, sort_keys=True)
    return hashlib.sha1(text.encode("utf-8")).hexdigest()[:12]


def single_run(host_plan, script, inputs, script_sha1):
    """The command line and metrics path of one trainer's run on one host.

    ``host_plan`` is what :func:`plan` returned; ``inputs`` are the run's dependencies (data checksums,
    interpreter, epochs, limit, device, seed) and ``script_sha1`` the digest of the trainer's script.
    Returns ``key``, ``output`` and ``argv``.
    """
    if script not in KNOWN_TRAINERS:
        raise TrainersPlanError(f"{script!r} is not a trainer of this collection ({', '.join(KNOWN_TRAINERS)}).")
    if not host_plan.get("python"):
        raise TrainersPlanError(
            "No Python with torch is known: run the torchfleet.lab.pytorch_env role first (it sets "
            "torchfleet_torch), or set trainers_python to an interpreter that imports torch."
        )
    system = host_plan["system"]
    key = run_key(inputs, script, script_sha1)
    output = join(system, host_plan["runs_dir"], f"{script}-{key}.json")
    args = ["--epochs", str(host_plan["epochs"]), "--device", host_plan["device"], "--seed", str(host_plan["seed"])]
    if script == "mnist_cnn":
        args += ["--data-dir", host_plan["data_dir"]]
        if host_plan["limit"] > 0:
            args += ["--limit", str(host_plan["limit"])]
    argv = [host_plan["python"], join(system, host_plan["scripts_dir"], script + ".py"), *args, "--output", output]
    limit = host_limit(system, host_plan.get("timeout", 600))
    return {"key": key, "output": output, "argv": host_plan.get("run_prefix", []) + limit + argv}


def health_run(host_plan, args):
    """The command line and output path of health.yml's burn-in on one host (health_check.py, deployed with the
    trainers): ``args`` are its options, then ``--output`` in the runs directory; started as the plan's account and
    bounded by ``trainers_timeout`` on the host as a trainer's run is (:func:`host_limit`).  Returns ``output``
    and ``argv``."""
    if not host_plan.get("python"):
        raise TrainersPlanError(
            "No Python with torch is known: run the torchfleet.lab.pytorch_env role first (it sets "
            "torchfleet_torch), or set trainers_python to an interpreter that imports torch."
        )
    system = host_plan["system"]
    output = join(system, host_plan["runs_dir"], "health_check.json")
    script = join(system, host_plan["scripts_dir"], "health_check.py")
    argv = [host_plan["python"], script, *[str(arg) for arg in args or []], "--output", output]
    limit = host_limit(system, host_plan.get("timeout", 600))
    return {"output": output, "argv": list(host_plan.get("run_prefix") or []) + limit + argv}


def host_limit(system, seconds):
    """The words that bound a command on the host itself, so that a run whose controller went away still ends:
    GNU coreutils timeout on Linux (SIGTERM after ``seconds``, SIGKILL 30 s later, exit 124; ``timeout
    --help`` and https://www.gnu.org/software/coreutils/manual/html_node/timeout-invocation.html).  macOS has
    no timeout(1) in its base system and Windows none of that kind, so there the task's own timeout is the
    bound."""
    if normalise_system(system) != "Linux":
        return []
    return ["timeout", "--kill-after=30", str(int(seconds))]


def ddp_run_done(found_by_host, hosts, nproc):
    """Whether the group holds the results of a finished distributed run, so that it need not train again.

    ``found_by_host`` maps each host of ``hosts`` to what ansible.builtin.find returned for the run's files on it
    (``files``, each with ``path``; distributed.yml searches each host for its own run's ``<stem>.rank*.json`` and
    ``<stem>.json``); a host that is missing, or whose search did not run, holds nothing known. Each host needs
    ``nproc`` rank files, and one host the combined metrics (``<stem>.json``), which rank 0 writes last
    (mnist_cnn.py): every rank writes its own file before the ranks gather, so rank files alone may be left by a
    run whose rank 0 went away (or was stopped) before the end, and such a run is not done.

    Rank 0 is wherever torchrun's rendezvous put it, not always the first host of the group, and each host names
    its files with its own run key (the key covers its interpreter's path, which differs between a conda and a uv
    host), so the combined metrics are looked for on every host under that host's own name.
    """
    if not hosts:
        return False
    combined = False
    for host in hosts:
        found = (found_by_host or {}).get(host) or {}
        names = [str(item.get("path", "")).rsplit("/", 1)[-1] for item in found.get("files") or []]
        ranks = [name for name in names if ".rank" in name]
        if len(ranks) < int(nproc):
            return False
        combined = combined or any(".rank" not in name for name in names)
    return combined


# --- distributed runs (roles/trainers/tasks/distributed.yml carries out what these decide) ------------------


def ddp_run_key(inputs, script_sha1, hosts, nproc):
    """The 12-hex-digit name of a distributed run, as Ansible's ``(inputs | combine({'script': sha1, 'mode':
    'ddp', 'hosts': hosts, 'nproc': nproc | int}) | to_json(sort_keys=true) | hash('sha1'))[:12]`` computed it,
    so that the results of runs made by earlier releases keep their names."""
    merged = dict(inputs)
    merged.update({"script": script_sha1, "mode": "ddp", "hosts": list(hosts), "nproc": int(nproc)})
    text = json.dumps(merged, sort_keys=True)
    return hashlib.sha1(text.encode("utf-8")).hexdigest()[:12]


def ddp_run(host_plan, inputs, script_sha1, hosts, nproc):
    """A distributed run of the plan's ``ddp_script`` (one of :data:`DDP_SCRIPTS`) on this host: ``script``,
    ``key``, ``hosts``, ``nproc`` and the paths named after the script and the key in the runs directory:
    ``output`` (rank 0's combined results), ``logfile`` (torchrun's output) and ``lease`` (job_lease.py's lease:
    the job runs while the controller renews it).  Distributed runs are Linux only."""
    script = host_plan.get("ddp_script") or "mnist_cnn"
    if script not in DDP_SCRIPTS:
        raise TrainersPlanError(f"A distributed run launches one of {', '.join(DDP_SCRIPTS)}, not {script!r}.")
    key = ddp_run_key(inputs, script_sha1, hosts, nproc)
    stem = f"{host_plan['dir']}/runs/{script}-ddp-{key}"
    return {
        "script": script,
        "key": key,
        "hosts": list(hosts),
        "nproc": int(nproc),
        "output": stem + ".json",
        "logfile": stem + ".log",
        "lease": stem + ".lease",
    }


def ddp_needed(found_by_host, hosts, nproc, force=False):
    """Whether the group trains: all hosts train together, so the run happens when ``force`` is set or any host
    lacks its results (or is unreachable; :func:`ddp_run_done`)."""
    return _as_bool(force) or not ddp_run_done(found_by_host, hosts, nproc)


def ddp_argv(host_plan, ddp, endpoint, job, args=None, host=None):  # noqa: PLR0913 -- the launch's whole identity
    """The command that runs this host's part of the distributed run ``ddp`` (:func:`ddp_run`), whose rendezvous
    is ``endpoint`` (``HOST:PORT``).

    Outermost, coreutils timeout(1) stops the part 30 s after ``trainers_timeout`` (SIGKILL 20 s after its
    SIGTERM) should the switch not be armed; job_lease.py ``guard`` (roles/trainers/files/job_lease.py) stops it
    ``job["stale"]`` seconds after the controller last renewed the lease, and tags its processes
    ``job["tag"]=job["value"]``, the run id.  torchrun
    (``python -m torch.distributed.run``; options as its ``--help`` and
    https://pytorch.org/docs/stable/elastic/run.html name them): one node per host, ``--rdzv-backend=c10d`` with
    the store on the first host's ``endpoint``, ``--rdzv-id`` the run id, and ``--max-restarts=0`` so that a
    failed worker ends the job instead of restarting it.  The ranks' own ``--timeout`` is half of
    ``trainers_timeout`` (at least 10 s) and ends one whose peer died.

    With ``host`` (this host's inventory name), ``--rdzv-conf=is_host=1`` on the first host of the run and ``0``
    on the others says which one serves the store. Left to itself, torchrun's agent serves it only where the
    endpoint is loopback or one of the addresses this machine's hostname resolves to (torch 2.13.0,
    torch/distributed/elastic/rendezvous/c10d_rendezvous_backend.py ``_create_tcp_store``, lines 137-145, and
    rendezvous/utils.py ``_matches_machine_hostname``); on Debian the hostname resolves to 127.0.1.1
    (/etc/hosts as the installer writes it), so with the endpoint on the first host's network address no agent
    served the store and every part waited out its timeout.

    mnist_cnn takes the plan's training parameters; another script of :data:`DDP_SCRIPTS` (``ddp["script"]``)
    takes ``args`` (its own options, health.yml's), then the same ``--timeout`` and ``--output``."""
    timeout = int(host_plan["timeout"])
    python, scripts = host_plan["python"], host_plan["dir"] + "/scripts/"
    guard = ["timeout", "--kill-after=20", str(timeout + 30), python, scripts + "job_lease.py", "guard"]
    guard += [f"--lease={ddp['lease']}", f"--tag={job['tag']}", f"--value={job['value']}"]
    guard += [f"--stale={job['stale']}", "--grace=10"]
    torchrun = [python, "-m", "torch.distributed.run", f"--nnodes={len(ddp['hosts'])}"]
    torchrun += [f"--nproc-per-node={ddp['nproc']}", "--rdzv-backend=c10d", f"--rdzv-endpoint={endpoint}"]
    torchrun += [f"--rdzv-id={job['value']}", "--max-restarts=0"]
    if host is not None:
        torchrun.append(f"--rdzv-conf=is_host={int(str(host) == str(ddp['hosts'][0]))}")
    script = ddp.get("script", "mnist_cnn")
    if script != "mnist_cnn":
        trainer = [scripts + script + ".py", *[str(arg) for arg in args or []]]
        trainer += [f"--timeout={max(timeout // 2, 10)}", f"--output={ddp['output']}"]
        return list(host_plan.get("run_prefix") or []) + guard + ["--"] + torchrun + trainer
    trainer = [scripts + "mnist_cnn.py", "--distributed", f"--data-dir={host_plan['data_dir']}"]
    trainer += [f"--epochs={host_plan['epochs']}", f"--device={host_plan['device']}", f"--seed={host_plan['seed']}"]
    trainer += [f"--timeout={max(timeout // 2, 10)}", f"--output={ddp['output']}"]
    if int(host_plan["limit"]) > 0:
        trainer.append(f"--limit={host_plan['limit']}")
    return list(host_plan.get("run_prefix") or []) + guard + ["--"] + torchrun + trainer


# The script's own one-line errors name the cause (a bad data file, a missing device) (mnist_cnn.py,
# health_allreduce.py).
_DDP_ERROR_RE = re.compile(r"(?:mnist_cnn|health_allreduce)(?: rank [0-9]+)?: error: [^\n]*")
# Otherwise the first exception a worker raised (a peer that went away, a timeout), as torchrun prints it,
# prefixed with the rank; torchrun's own ChildFailedError only says that a worker failed.
_DDP_EXCEPTION_RE = re.compile(r"(?m)^(?:\[rank[0-9]+\]: )?[A-Za-z_.]*(?:Error|Exception)(?:[^A-Za-z\n][^\n]*)?$")
# Or the signal torchrun's agent reports when it was stopped.
_DDP_SIGNAL_RE = re.compile(r"Signal [0-9]+ \(SIG[A-Z]+\) received by PID [0-9]+")
# coreutils timeout(1), EXIT STATUS: 124 when the command timed out, 137 (128 + KILL) after --kill-after.
_TIMEOUT_EXIT = (124, 137)


def _truncate(text, length=200):
    """Jinja's ``truncate(length)`` with its default leeway of 5: longer text is cut at a word, with ``...``."""
    if len(text) <= length + 5:
        return text
    return text[: length - 3].rsplit(" ", maxsplit=1)[0] + "..."


def ddp_outcome(status, timeout, logfile):
    """How this host's part of a distributed run ended, from what ansible.builtin.async_status returned.

    Returns ``ok`` (it finished with exit 0), ``outcome`` (a line for the failure message) and ``culprit``
    (whether this host is to blame: a trainer error, a timeout, or a part that never finished; the others only
    stopped because a peer went away).  The renewals wait for the part to end, so a part that overran
    ``timeout`` ends by the host-side limit: coreutils timeout exits 124, or 137 after --kill-after.
    ``logfile`` is where the role keeps torchrun's whole output."""
    status = status or {}
    finished = _as_bool(status.get("finished", 0))
    rc = status.get("rc", 0)
    timed_out = rc in _TIMEOUT_EXIT
    stderr = str(status["stderr"] if "stderr" in status else status.get("msg", ""))
    tail = [_truncate(line) for line in [line.strip() for line in stderr.split("\n")] if line][-3:]
    log = str(status.get("stderr", "")) + "\n" + str(status.get("stdout", ""))
    errors = _DDP_ERROR_RE.findall(log)
    exceptions = [line for line in _DDP_EXCEPTION_RE.findall(log) if "ChildFailedError" not in line]
    exceptions += _DDP_SIGNAL_RE.findall(log)
    if errors:
        outcome = f"exit {status.get('rc')}: {errors[0]}"
    elif timed_out:
        outcome = f"still running after {timeout} s"
    elif rc != 0:
        detail = exceptions[0].strip() if exceptions else "last output: " + (" / ".join(tail) or "none")
        outcome = f"exit {rc}, stopped with the job ({detail}; full output in {logfile})"
    elif finished:
        outcome = "finished"
    else:
        outcome = f"still running after {timeout} s"
    ok = finished and status.get("rc", 1) == 0
    return {"ok": ok, "outcome": outcome, "culprit": bool(errors) or timed_out or not finished}


def ddp_failures(hosts, parts):
    """The hosts whose part failed and the ones to blame, from each host's :func:`ddp_outcome` in ``parts`` (a
    host missing from it, or mapped to nothing, took no part).

    A host that took no part (unreachable, or failed before the launch) leaves the others waiting at the
    rendezvous, so it alone is named; otherwise the hosts with a trainer error or a timeout are.  ``failed``
    and ``culprits`` keep the group's order; ``lines`` say how each host's part ended, for the message."""
    parts = {host: part for host, part in (parts or {}).items() if isinstance(part, dict) and "outcome" in part}
    absent = [host for host in hosts if host not in parts]
    culprits = absent or [host for host in hosts if parts[host].get("culprit", True)]
    failed = [host for host in hosts if not (host in parts and _as_bool(parts[host].get("ok", False)))]
    absent_line = "took no part (unreachable, or failed before the launch)"
    lines = [f"{host}: {parts[host]['outcome'] if host in parts else absent_line}." for host in hosts]
    return {"failed": failed, "culprits": culprits, "lines": lines}


def ddp_unreached(hosts, reach_by_host):
    """The hosts that could not connect to the rendezvous: ansible.builtin.wait_for returns the connection's
    ``state`` when it made one and none on a timeout (a host missing from ``reach_by_host`` did not try)."""
    return [host for host in hosts if "state" not in ((reach_by_host or {}).get(host) or {})]
