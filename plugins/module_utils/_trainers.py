# Copyright: torchfleet.lab contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Where the sample trainers go on a host, how each run is started, and what a request may ask.

Private to torchfleet.lab.  Standard library only and Python 3.8 syntax, like the other module_utils.
The ``trainers_plan`` and ``trainers_single_run`` filters are thin wrappers around :func:`plan` and
:func:`single_run`; the trainers role carries out what they return, with POSIX modules on Linux and macOS
and PowerShell modules on Windows, so both kinds of host decide the same way.

Choices made here:
- ``trainers_scope: auto`` is ``user`` on macOS (a Mac belongs to its login; nothing there needs sudo) and
  ``system`` on Linux and Windows (lab machines share one copy), as for ``miniconda_scope``.
- Default directories: ``/opt/torchfleet/trainers`` (system) and ``~/.local/share/torchfleet/trainers``
  (user, XDG's data home) on Linux and macOS; ``C:\\ProgramData\\torchfleet\\trainers`` (system: the
  all-users application data folder) and ``%USERPROFILE%\\AppData\\Local\\torchfleet\\trainers`` (user: the
  per-user, non-roaming folder Windows keeps application data in, so tens of MB of data and runs do not
  travel with a roaming profile; the miniconda role keeps its user cache under the same folder).
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

import hashlib
import json
import re

KNOWN_TRAINERS = ("linear_regression", "mnist_cnn")
SCOPES = ("auto", "system", "user")

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

# ansible_facts['system'] as each OS reports it (Windows: Win32NT) -> the name used here.
_SYSTEMS = {"linux": "Linux", "darwin": "Darwin", "windows": "Windows", "win32nt": "Windows"}
_AUTO_SCOPE = {"Linux": "system", "Darwin": "user", "Windows": "system"}
_SYSTEM_DIRS = {
    "Linux": "/opt/torchfleet/trainers",
    "Darwin": "/opt/torchfleet/trainers",
    "Windows": "C:\\ProgramData\\torchfleet\\trainers",
}
_USER_DIRS = {
    "Linux": ".local/share/torchfleet/trainers",
    "Darwin": ".local/share/torchfleet/trainers",
    "Windows": "AppData\\Local\\torchfleet\\trainers",
}
# stop_job.py stops a distributed job through /proc, so it goes only where distributed runs can happen.
_SCRIPTS = {
    "Linux": ("linear_regression.py", "mnist_cnn.py", "stop_job.py"),
    "Darwin": ("linear_regression.py", "mnist_cnn.py"),
    "Windows": ("linear_regression.py", "mnist_cnn.py"),
}
_DEVICE_RE = re.compile(r"^(auto|cpu|mps|cuda(:[0-9]+)?)$")
_SHA256_RE = re.compile(r"^[0-9a-f]{64}$")
_WINDOWS_ABSOLUTE_RE = re.compile(r"^([A-Za-z]:\\|\\\\[^\\]+\\[^\\]+)")
_OS_NAMES = {"Linux": "Linux", "Darwin": "macOS", "Windows": "Windows"}


class TrainersPlanError(ValueError):
    """A request the trainers role cannot carry out; the message says what to change."""


def normalise_system(system):
    """``Linux``, ``Darwin`` or ``Windows`` for any spelling of ``ansible_facts['system']``."""
    name = _SYSTEMS.get(str(system or "").strip().lower())
    if not name:
        raise TrainersPlanError(
            f"The trainers role runs on Linux, macOS (Darwin) and Windows; this host reports {system!r} "
            "(ansible_facts['system']). Leave it out of the play."
        )
    return name


def family(system):
    """``windows`` (PowerShell modules) or ``posix`` (Python modules)."""
    return "windows" if normalise_system(system) == "Windows" else "posix"


def resolve_scope(scope, system):
    """``system`` or ``user`` for ``trainers_scope``; ``auto`` depends on the OS only."""
    value = str(scope or "").strip().lower()
    if value not in SCOPES:
        raise TrainersPlanError(f"trainers_scope {scope!r} is not one of auto, system, user.")
    if value == "auto":
        return _AUTO_SCOPE[normalise_system(system)]
    return value


def needs_become(scope, system):
    """Whether the role escalates: system scope on Linux and macOS only (Windows has no sudo)."""
    return family(system) == "posix" and resolve_scope(scope, system) == "system"


def separator(system):
    return "\\" if normalise_system(system) == "Windows" else "/"


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


def default_dir(system, scope, home):
    """``trainers_dir`` when it is empty."""
    os_name = normalise_system(system)
    if resolve_scope(scope, system) == "system":
        return _SYSTEM_DIRS[os_name]
    base = normalise_path(home, system)
    if not base:
        raise TrainersPlanError(
            f"trainers_scope user puts the trainers in the connecting user's home, but the host reports none "
            f"(ansible_facts['user_dir'] is {home!r}): gather facts, or set trainers_dir."
        )
    return join(system, base, _USER_DIRS[os_name])


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
            f"{_OS_NAMES[os_name]}: use auto, cpu or cuda."
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
            f"Windows builds have no NCCL); {host or 'this host'} runs {_OS_NAMES[os_name]}. Set "
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
        other = _SYSTEMS.get(str(reported).strip().lower(), str(reported))
        if other != "Linux":
            others.append(f"{name} ({_OS_NAMES.get(other, other)})")
    if others:
        problems.append(
            f"trainers_group ({group}) holds hosts that are not Linux: {', '.join(others)}; the distributed "
            f"mnist_cnn run needs every host of the group on Linux. Leave those hosts out of trainers_group "
            f"(e.g. -e trainers_group=<a group of the Linux hosts>), or set trainers_distributed: false for the "
            f"whole group so that each host trains on its own."
        )


def data_files(system, data_dir, data_url, sha256):
    """Each MNIST file: its URL, where it goes, and what verifies it (an explicit sum, the known sum of the
    public file, or the SHA256SUMS file published beside it)."""
    files = []
    for name in MNIST_FILES:
        explicit = str((sha256 or {}).get(name) or "").strip().lower()
        known = MNIST_UPSTREAM_SHA256[name] if data_url == MNIST_UPSTREAM else None
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


def plan(
    system,
    home="",
    host="",
    scope="auto",
    trainers_dir="",
    data_dir="",
    python="",
    run=KNOWN_TRAINERS,
    epochs=2,
    limit=512,
    device="auto",
    seed=0,
    nproc_per_node=1,
    timeout=600,
    data_url="",
    data_sha256=None,
    data_download=True,
    mirror_url="",
    distributed=False,
    group="all",
    group_systems=None,
):
    """Check a trainers request for one host and decide its paths, privilege, files and data.

    Every problem found is reported at once, each with what to change.  Returns a dict: ``system``,
    ``family``, ``scope``, ``become``, ``sep``, ``dir``, ``scripts_dir``, ``runs_dir``, ``data_dir``,
    ``python``, ``directories`` (to create), ``scripts`` (``src``/``dest``), ``data_url``, ``data`` (see
    :func:`data_files`), ``download``, ``run``, ``epochs``, ``limit``, ``device``, ``seed``,
    ``distributed``.
    """
    os_name = normalise_system(system)
    problems = []
    try:
        resolved_scope = resolve_scope(scope, system)
    except TrainersPlanError as exc:
        problems.append(str(exc))
        resolved_scope = _AUTO_SCOPE[os_name]

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
    epochs = _as_int(epochs, "trainers_epochs", 1, problems, "a whole number, at least 1")
    limit = _as_int(limit, "trainers_limit", 0, problems, "a whole number, 0 (all images) or more")
    seed = _as_int(seed, "trainers_seed", None, problems, "a whole number")
    _as_int(nproc_per_node, "trainers_nproc_per_node", 1, problems, "a whole number, at least 1")
    _as_int(timeout, "trainers_timeout", 10, problems, "a whole number of seconds, at least 10")
    device = str(device or "").strip()
    _check_device(device, os_name, problems)

    example = _SYSTEM_DIRS[os_name]
    base = None
    if trainers_dir:
        base = normalise_path(trainers_dir, system)
        if not base:
            problems.append(f"trainers_dir ({trainers_dir!r}) must be empty or an absolute path such as {example}.")
    if not base:
        try:
            base = default_dir(system, resolved_scope, home)
        except TrainersPlanError as exc:
            problems.append(str(exc))
            base = example
    data = None
    if data_dir:
        data = normalise_path(data_dir, system)
        if not data:
            problems.append(
                f"trainers_data_dir ({data_dir!r}) must be empty or an absolute path such as "
                f"{join(system, example, 'data', 'mnist')}."
            )
    data = data or join(system, base, "data", "mnist")

    sums = data_sha256 or {}
    if not isinstance(sums, dict):
        problems.append(f"trainers_data_sha256 must be a mapping of file name to SHA-256, not {sums!r}.")
        sums = {}
    for name in sorted(sums):
        if name not in MNIST_FILES:
            problems.append(f"trainers_data_sha256 names {name!r}, which is none of {', '.join(MNIST_FILES)}.")
        elif not _SHA256_RE.match(str(sums[name] or "").strip().lower()):
            problems.append(
                f"trainers_data_sha256[{name!r}] ({sums[name]!r}) is not a SHA-256: give the 64 hexadecimal "
                "digits sha256sum prints for the file."
            )

    distributed = _as_bool(distributed) and "mnist_cnn" in run
    if distributed:
        _check_distributed(os_name, host, group, group_systems, problems)

    if problems:
        raise TrainersPlanError(f"Check the trainers variables{' on ' + host if host else ''}: " + " ".join(problems))

    url = str(data_url or "").strip() or ((mirror_url.rstrip("/") + "/mnist/") if mirror_url else MNIST_UPSTREAM)
    url = url.rstrip("/") + "/"
    download = _as_bool(data_download)
    scripts_dir = join(system, base, "scripts")
    runs_dir = join(system, base, "runs")
    return {
        "system": os_name,
        "family": family(system),
        "scope": resolved_scope,
        "become": needs_become(resolved_scope, system),
        "sep": separator(system),
        "dir": base,
        "scripts_dir": scripts_dir,
        "runs_dir": runs_dir,
        "data_dir": data,
        "python": str(python or ""),
        "directories": [base, scripts_dir, runs_dir] + ([data] if download else []),
        "scripts": [{"src": name, "dest": join(system, scripts_dir, name)} for name in _SCRIPTS[os_name]],
        "data_url": url,
        "data": data_files(system, data, url, sums),
        "download": download and "mnist_cnn" in run,
        "run": run,
        "epochs": epochs,
        "limit": limit,
        "device": device,
        "seed": seed,
        "distributed": distributed,
    }


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
    return {"key": key, "output": output, "argv": argv}
