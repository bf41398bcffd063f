# Copyright: torchfleet.lab contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""What a torchfleet mirror must hold for a fleet, and the files that publish it (the mirror role's planner).

The layout is the one the roles read through ``torchfleet_mirror_url``, and every path here comes from the
function the client role itself calls, given a stand-in base URL that is then cut off again:

- ``whl/<build>/``: ``_torch_build.resolve(index_base=<mirror>/whl)``'s ``build_index_url`` (pytorch_env);
- ``pypi/simple/``: ``_pytorch_env.choose_index``'s general index; its files lie in ``pypi/packages/``;
- ``uv/<version>/<asset>``: ``_pytorch_env.UV_TARGETS`` and the asset names of ``_pytorch_env._uv``;
- ``miniconda/<file>``, ``miniforge/<tag>/<file>``: ``_conda_installer.installer(base_url=<mirror>)``;
- ``mnist/<file>``: ``_trainers.MNIST_FILES`` under ``<mirror>/mnist/``;
- ``nvidia/...`` (with ``nvidia=True``): the downloads of the gpu_driver role's own plan (``_driver.plan`` with
  ``mirror_url=<mirror>``): ``nvidia/repos/<dir>/cuda-keyring_1.1-1_all.deb`` for Debian and Ubuntu GPU hosts on
  NVIDIA's CUDA repository, ``nvidia/<version>-...-international.exe`` for Windows GPU hosts.

Each host's build is resolved exactly as the pytorch_env role resolves it (``pytorch_release`` then
``_torch_build.resolve`` with the host's facts, driver and GPUs), so the mirror holds what the fleet will ask for.

Indexes follow PEP 503 (https://peps.python.org/pep-0503/): one ``<a>`` per file, the project directory named by
the normalised name, and a ``#sha256=<hex>`` fragment on each link that pip and uv check the download against.

Standard library only, Python 3.8 syntax.
"""

from __future__ import annotations

import hashlib
import html
import json
import posixpath
import re
from urllib.parse import quote

from ansible_collections.torchfleet.lab.plugins.module_utils import (
    _conda_installer,
    _driver,
    _pytorch_env,
    _torch_build,
    _trainers,
)

# A base URL no client uses: the client functions build their mirror URLs on it and the planner cuts it off.
_BASE = "http://torchfleet-mirror.invalid"
PYPI_SIMPLE = _pytorch_env.PYPI_SIMPLE
TORCH_INDEX = _torch_build.DEFAULT_INDEX_BASE
UV_UPSTREAM = "https://github.com/astral-sh/uv/releases/download"
# The gpu_driver variables its plan reads (roles/gpu_driver/vars/main.yml, __gpu_driver_options), by plan option.
DRIVER_SETTINGS = {
    "branch": "gpu_driver_branch",
    "kernel_module": "gpu_driver_kernel_module",
    "source": "gpu_driver_source",
    "force": "gpu_driver_force",
    "build_module": "gpu_driver_build_module",
    "cuda_keyring_sha256": "gpu_driver_cuda_keyring_sha256",
    "windows_version": "gpu_driver_windows_version",
    "windows_installer_url": "gpu_driver_windows_installer_url",
    "windows_installer_sha256": "gpu_driver_windows_installer_sha256",
}
# Bumped when the layout or the generated pages change, so that a role update publishes a new release.
LAYOUT_VERSION = "1"
DIST_SUFFIXES = (".whl", ".tar.gz", ".zip")
# pip's --platform tags of manylinux wheels (PEP 600, https://peps.python.org/pep-0600/: manylinux_2_<minor>_<arch>
# runs on glibc 2.<minor> and newer; the legacy manylinux2014 is manylinux_2_17 under PEP 600).
_MANYLINUX_FIRST = 17
_WINDOWS_PLATFORMS = {"x86_64": "win_amd64", "arm64": "win_arm64"}


class PlanError(ValueError):
    """A fleet the mirror cannot be planned for; the message says what to change."""


def _rel(url):
    if not url.startswith(_BASE + "/"):
        raise PlanError(f"internal: {url} is not under the mirror")
    return url[len(_BASE) + 1 :]


def normalize_name(name):
    """PEP 503's normalised project name."""
    return re.sub(r"[-_.]+", "-", str(name)).lower()


def dist_project(filename):
    """The (unnormalised) project name of a wheel (PEP 427 file name) or sdist file."""
    if filename.endswith(".whl"):
        parts = filename[: -len(".whl")].split("-")
        if len(parts) not in (5, 6):
            raise PlanError(f"{filename} is not a wheel file name (PEP 427: name-version[-build]-python-abi-platform)")
        return parts[0]
    for suffix in (".tar.gz", ".zip"):
        if filename.endswith(suffix) and "-" in filename[: -len(suffix)]:
            return filename[: -len(suffix)].rsplit("-", 1)[0]
    raise PlanError(f"{filename} is not a distribution file (.whl, .tar.gz or .zip)")


def _glibc_minor(text):
    match = re.match(r"^\s*(?:glibc\s+)?2\.(\d+)", str(text or ""))
    return int(match.group(1)) if match else None


def platform_tags(system, machine, os_version=""):
    """pip ``--platform`` values for a host: ``os_version`` is the glibc version on Linux (``getconf
    GNU_LIBC_VERSION``), the macOS version on Darwin. pip download takes the option several times, one per platform
    the target interpreter supports (https://pip.pypa.io/en/stable/cli/pip_download/#cmdoption-platform)."""
    glibc = os_version
    if system == "Linux":
        minor = _glibc_minor(glibc)
        if minor is None or minor < _MANYLINUX_FIRST:
            raise PlanError(
                f"glibc {glibc or 'unknown'} of a Linux {machine} host: PyTorch's wheels need glibc 2.17 or newer; "
                "run playbooks/mirror.yml, which reads it with getconf GNU_LIBC_VERSION"
            )
        tags = [f"manylinux_2_{m}_{machine}" for m in range(minor, _MANYLINUX_FIRST - 1, -1)]
        return [*tags, f"manylinux2014_{machine}", f"linux_{machine}"]
    if system == "Windows" and machine in _WINDOWS_PLATFORMS:
        return [_WINDOWS_PLATFORMS[machine]]
    if system == "Darwin":
        match = re.match(r"^(\d+)", str(os_version or ""))
        major = int(match.group(1)) if match else 11
        arch = "arm64" if machine == "arm64" else "x86_64"
        return [f"macosx_{v}_0_{arch}" for v in range(max(major, 11), 10, -1)] + (
            [f"macosx_10_{v}_{arch}" for v in range(15, 8, -1)] if arch == "x86_64" else []
        )
    raise PlanError(f"no wheel platform tags are known for {system} {machine}")


def _text(value):
    return "" if value is None else str(value).strip()


def resolve_host(name, facts, gpu, os_version, settings, nvidia=False):  # noqa: PLR0913 -- the host's whole identity
    """One fleet host's needs, resolved as its roles resolve them.

    ``facts`` is the host's ``ansible_facts``; ``gpu`` its ``torchfleet_gpu`` fact ({} when gpu_facts did not run);
    ``os_version`` glibc (Linux) or macOS version; ``settings`` the host's role variables over the roles' defaults
    (``pytorch_version``, ``pytorch_python_version``, ``pytorch_compute``, ``pytorch_env_manager``,
    ``pytorch_env_packages``, ``pytorch_env_extra_packages``, ``pytorch_env_uv_version``, ``miniconda_distribution``,
    ``miniconda_version``, ``miniconda_installer_sha256``, ``pytorch_env_uv_sha256``, and with ``nvidia`` the
    ``DRIVER_SETTINGS``). With ``nvidia``, ``nvidia`` lists the NVIDIA files the host's gpu_driver plan reads from
    the mirror and ``notes`` what the mirror cannot hold for it.
    """
    try:
        host = _pytorch_env.host_platform(facts)
    except _pytorch_env.LayoutError as exc:
        raise PlanError(f"{name}: {exc}") from exc
    gpu = gpu if isinstance(gpu, dict) else {}
    devices = [d for d in gpu.get("devices") or [] if isinstance(d, dict) and d.get("vendor") == "nvidia"]
    try:
        release = _torch_build.pytorch_release(settings.get("pytorch_version"))
        build = _torch_build.resolve(
            release["version"],
            host["system"],
            host["machine"],
            python=_text(settings.get("pytorch_python_version")),
            compute=_text(settings.get("pytorch_compute")) or "auto",
            nvidia_driver=_text(gpu.get("nvidia_driver")),
            gpu_compute_capabilities=[d.get("compute_capability") or "" for d in devices],
            index_base=_BASE + "/whl",
        )
    except _torch_build.TorchBuildError as exc:
        raise PlanError(f"{name}: {exc}") from exc
    packages = list(settings.get("pytorch_env_packages") or ["torch"])
    for package in packages:
        if build.get(package) is None:
            raise PlanError(f"{name}: {package} has no release that matches torch {build['torch']}")
    # The pin pytorch_env installs from the mirror's copy of the build index (_pytorch_env.install_plan).
    label = _pytorch_env.expected_label(build["compute"], host["system"], host["machine"])
    return {
        "name": name,
        "system": host["system"],
        "machine": host["machine"],
        "build": build,
        "platforms": platform_tags(host["system"], host["machine"], os_version),
        "requirements": _pytorch_env.pinned_requirements(build, packages, label),
        "settings": settings,
        **(_nvidia_needs(name, facts, gpu, settings) if nvidia else {"nvidia": [], "notes": []}),
    }


def _nvidia_needs(name, facts, gpu, settings):
    """The files the host's gpu_driver plan downloads from ``<mirror>/nvidia/``, from that plan itself."""
    options = {option: settings[variable] for option, variable in DRIVER_SETTINGS.items() if variable in settings}
    options["force"] = str(options.get("force", False)).lower() in ("true", "1", "yes", "on")
    try:
        driver = _driver.plan(
            dict(facts, torchfleet_gpu=gpu),
            mirror_url=_BASE,
            pytorch_version=_text(settings.get("pytorch_version")) or None,
            pytorch_compute=_text(settings.get("pytorch_compute")) or "auto",
            **options,
        )
    except _driver.DriverPlanError as exc:
        raise PlanError(f"{name} (gpu_driver): {exc}") from exc
    if driver.get("action") == "skip":
        return {"nvidia": [], "notes": []}
    repo = driver.get("repo") or {}
    if repo.get("kind") == "cuda-keyring":
        path = _rel(repo["url"])
        upstream = _driver.CUDA_REPO_BASE + "/" + path[len("nvidia/repos/") :]
        return {"nvidia": [_file(path, upstream, repo["checksum"].split(":", 1)[1], None, "nvidia")], "notes": []}
    if repo.get("kind") == "dnf":
        return {
            "nvidia": [],
            "notes": [
                f"{name} reads NVIDIA's whole dnf repository from <mirror>/{_rel(repo['baseurl'])}, which this role "
                "does not copy: mirror it there with reposync (dnf-plugins-core), or the host cannot install the driver"
            ],
        }
    installer = driver.get("installer") or {}
    if installer and installer["url"].startswith(_BASE + "/"):
        # NVIDIA publishes no stable address for its Windows installers that this collection can cite: the file
        # comes from the controller (mirror_local_files), checked against gpu_driver_windows_installer_sha256.
        return {"nvidia": [_file(_rel(installer["url"]), "", installer["checksum"], None, "nvidia")], "notes": []}
    return {"nvidia": [], "notes": []}


def uv_seed_packages(python):
    """What ``uv venv --seed`` installs from the general index: pip, plus setuptools and wheel below Python 3.12
    (uv CLI reference, ``uv venv --seed``: https://docs.astral.sh/uv/reference/cli/#uv-venv--seed)."""
    minor = int(str(python).split(".")[1]) if re.match(r"^3\.\d+$", str(python)) else 12
    return ["pip"] if minor >= 12 else ["pip", "setuptools", "wheel"]


def _flag(value):
    # A role switch as hostvars hold it: a bool, or its text from an INI inventory or -e (Ansible's true spellings).
    return value is True or str(value).strip().lower() in ("true", "yes", "on", "1", "y")


def jupyter_packages(settings):
    """What pytorch_env installs from PyPI for pytorch_env_jupyter_kernel / pytorch_env_jupyterlab
    (module_utils/_pytorch_env.py jupyter)."""
    return (["ipykernel"] if _flag(settings.get("pytorch_env_jupyter_kernel")) else []) + (
        ["jupyterlab"] if _flag(settings.get("pytorch_env_jupyterlab")) else []
    )


def _file(path, url, sha256=None, checksum_url=None, what=""):
    return {"path": path, "url": url, "sha256": sha256 or None, "checksum_url": checksum_url, "what": what}


def _uv_file(host):
    settings = host["settings"]
    version = _text(settings.get("pytorch_env_uv_version"))
    target = _pytorch_env.UV_TARGETS.get((host["system"], host["machine"]))
    if target is None or not version:
        raise PlanError(f"{host['name']}: uv publishes no binary for {host['system']} {host['machine']}")
    asset = "uv-{}.{}".format(target, "zip" if host["system"] == "Windows" else "tar.gz")
    url = f"{UV_UPSTREAM}/{version}/{asset}"
    pinned = (settings.get("pytorch_env_uv_sha256") or {}).get(asset)
    return _file(f"uv/{version}/{asset}", url, pinned, url + ".sha256", "uv")


def _conda_file(host):
    settings = host["settings"]
    distribution = _text(settings.get("miniconda_distribution")) or "miniconda"
    version = _text(settings.get("miniconda_version")) or _conda_installer.DEFAULT_VERSIONS.get(distribution, "")
    try:
        args = (distribution, version, host["system"], host["machine"])
        sha256 = _text(settings.get("miniconda_installer_sha256")) or None
        mirror = _conda_installer.installer(*args, base_url=_BASE, sha256=sha256)
        upstream = _conda_installer.installer(*args, sha256=sha256)
    except _conda_installer.InstallerError as exc:
        raise PlanError(f"{host['name']}: {exc}") from exc
    return _file(_rel(mirror["url"]), upstream["url"], upstream["sha256"], upstream["checksum_url"], distribution)


def _mnist_files():
    return [
        _file(f"mnist/{name}", _trainers.MNIST_UPSTREAM + name, _trainers.MNIST_UPSTREAM_SHA256[name], None, "mnist")
        for name in _trainers.MNIST_FILES
    ]


def _add_file(files, entry, host):
    known = files.get(entry["path"])
    if known is None:
        files[entry["path"]] = dict(entry, hosts=[host])
        return
    if entry["sha256"] and known["sha256"] and entry["sha256"] != known["sha256"]:
        raise PlanError(
            f"{entry['path']}: {host} pins SHA-256 {entry['sha256']} but {known['hosts'][0]} pins {known['sha256']}; "
            "give the hosts the same sum (miniconda_installer_sha256, pytorch_env_uv_sha256)"
        )
    known["sha256"] = known["sha256"] or entry["sha256"]
    known["hosts"].append(host)


def _set_key(kind, directory, python, platforms, index):
    return json.dumps([kind, directory, python, platforms, index])


def _add_wheels(sets, kind, directory, index, host, requirements):  # noqa: PLR0913 -- one set's whole identity
    python = host["build"]["python"]
    key = _set_key(kind, directory, python, host["platforms"], index)
    entry = sets.setdefault(
        key,
        {"key": key, "kind": kind, "dir": directory, "index": index, "python": python,
         "platforms": host["platforms"], "requirements": [], "hosts": []},
    )  # fmt: skip
    entry["requirements"] = sorted(set(entry["requirements"]) | set(requirements))
    entry["hosts"].append(host["name"])


def _local_wheels(local_files, directory):
    prefix = directory.rstrip("/") + "/"
    return sorted(
        path for path in local_files if path.startswith(prefix) and "/" not in path[len(prefix) :]
        and path.endswith(".whl")
    )  # fmt: skip


def _attach_local(plan, local_files):
    """Point each planned file and wheel set at the controller's copies; refuse a copy nothing uses."""
    used = set()
    for entry in plan["files"]:
        entry["local"] = local_files.get(entry["path"])
        if entry["local"]:
            used.add(entry["path"])
    for entry in plan["wheel_sets"]:
        names = _local_wheels(local_files, entry["dir"])
        entry["local"] = [{"path": p, "src": local_files[p]} for p in names]
        projects = {normalize_name(dist_project(posixpath.basename(p))) for p in names}
        # The torch family that must still come from the build's upstream index.
        entry["remote"] = [
            r for r in entry["requirements"] if normalize_name(re.split(r"[=<>!~ ]", r)[0]) not in projects
        ]
        used.update(names)
    unused = sorted(set(local_files) - used)
    if unused:
        wanted = sorted([f["path"] for f in plan["files"]] + [s["dir"] + "/<wheel>" for s in plan["wheel_sets"]])
        raise PlanError(
            "mirror_local_files names paths the fleet does not need: {}. Each key is a path in the mirror the fleet "
            "uses: {}".format(", ".join(unused), ", ".join(wanted))
        )


def _check_verifiable(plan):
    for entry in plan["files"]:
        if not (entry["local"] or entry["url"]):
            raise PlanError(
                f"{entry['path']} ({', '.join(entry['hosts'])}) has no download address this collection can use: give "
                f"the controller's copy in mirror_local_files ({entry['path']}: /path/to/the/file), checked against "
                "gpu_driver_windows_installer_sha256, or set mirror_nvidia: false"
            )
        if not (entry["local"] or entry["sha256"] or entry["checksum_url"]):
            raise PlanError(
                f"{entry['path']} ({entry['url']}) has no published checksum and no known SHA-256, so its download "
                "cannot be checked: set miniconda_installer_sha256 for the hosts that use it, choose a pinned "
                "miniconda_version, or give the file in mirror_local_files"
            )


def plan(hosts, local_files=None, mnist=True, pypi_requirements=(), torch_index=TORCH_INDEX, pypi_index=PYPI_SIMPLE):  # noqa: PLR0913
    """What the mirror holds for ``hosts`` (resolve_host() results): ``files`` fetched once each, ``wheel_sets``
    fetched with pip download (``kind`` ``torch``: the build's index; ``pypi``: PyPI), with their sources.

    Each wheel set's ``key`` covers everything that decides its content (requirements, Python, platforms, indexes
    and local wheels), so the role downloads a set again only when one of them changes."""
    if not hosts:
        raise PlanError("no fleet host to mirror for: set mirror_fleet_hosts (playbooks/mirror.yml: mirror_fleet)")
    files, sets = {}, {}
    for host in hosts:
        settings = host["settings"]
        build_dir = _rel(host["build"]["build_index_url"])
        index = torch_index.rstrip("/") + "/" + build_dir.split("/", 1)[1]
        _add_wheels(sets, "torch", build_dir, index, host, host["requirements"])
        extra = [str(r) for r in settings.get("pytorch_env_extra_packages") or []] + list(pypi_requirements)
        extra += jupyter_packages(settings)
        manager = _text(settings.get("pytorch_env_manager")) or "conda"
        if manager == "uv":
            extra += uv_seed_packages(host["build"]["python"])
            _add_file(files, _uv_file(host), host["name"])
        else:
            _add_file(files, _conda_file(host), host["name"])
        if extra:
            _add_wheels(sets, "pypi", "pypi/packages", pypi_index, host, extra)
        for entry in host.get("nvidia") or []:
            _add_file(files, entry, host["name"])
    if mnist:
        for entry in _mnist_files():
            _add_file(files, entry, "all")
    result = {"files": sorted(files.values(), key=lambda f: f["path"]),
              "wheel_sets": sorted(sets.values(), key=lambda s: (s["dir"], s["key"])),
              "notes": [note for host in hosts for note in host.get("notes") or []]}  # fmt: skip
    _attach_local(result, dict(local_files or {}))
    _check_verifiable(result)
    for entry in result["wheel_sets"]:
        fields = [entry[k] for k in ("kind", "dir", "index", "python", "platforms", "requirements")]
        entry["key"] = hashlib.sha256(json.dumps([*fields, pypi_index, entry["local"]]).encode()).hexdigest()[:16]
        entry["steps"] = pip_steps(entry, pypi_index)
    return result


def pip_steps(entry, pypi_index):
    """The ``pip download`` argument lists (after ``python -m pip``) that fetch one wheel set into the current
    directory, in order.

    ``--isolated`` ignores the controller's pip configuration and ``PIP_*`` variables, so only the indexes given
    here are used (https://pip.pypa.io/en/stable/cli/pip/#cmdoption-isolated). ``--only-binary=:all:`` is
    required with ``--platform``/``--python-version``/``--implementation``/``--abi``, which make pip choose wheels for
    the target host rather than the controller (https://pip.pypa.io/en/stable/cli/pip_download/, "pip download
    with the --platform, --python-version, --implementation, and --abi options ...").

    torch, torchvision and torchaudio come from the build's own index alone (``--no-deps``; the wheels the
    controller already has are copied in first); the second step resolves their dependencies from PyPI, finding the
    torch family in the directory itself (``--find-links .``), as docs/pytorch-indexes.md explains for pip.
    """
    target = ["--only-binary=:all:", "--python-version", entry["python"], "--implementation", "cp"]
    for abi in _abis(entry["python"]):
        target += ["--abi", abi]
    for platform in entry["platforms"]:
        target += ["--platform", platform]
    common = ["download", "--isolated", "--disable-pip-version-check", "--no-input", "--progress-bar", "off", *target,
              "--dest", "."]  # fmt: skip
    steps = []
    if entry["kind"] == "torch" and entry["remote"]:
        steps.append([*common, "--no-deps", "--index-url", entry["index"], *entry["remote"]])
    find_links = ["--find-links", "."] if entry["kind"] == "torch" else []
    steps.append([*common, *find_links, "--index-url", pypi_index, *entry["requirements"]])
    return steps


def _abis(python):
    """pip ``--abi`` values for CPython ``3.N``: its own ABI, the stable ABI (PEP 384) and ``none``; pip uses the
    running interpreter's ABI when none is given (https://pip.pypa.io/en/stable/cli/pip_download/#cmdoption-abi)."""
    return ["cp" + str(python).replace(".", ""), "abi3", "none"]


_PAGE_HEAD = '<!DOCTYPE html>\n<html>\n<head>\n<meta name="pypi:repository-version" content="1.0">\n'


def _root_page(projects):
    links = "".join(f'<a href="{html.escape(quote(p))}/">{html.escape(p)}</a><br>\n' for p in sorted(projects))
    return f"{_PAGE_HEAD}<title>Simple index</title>\n</head>\n<body>\n{links}</body>\n</html>\n"


def _project_page(project, links):
    """links: (file name, relative href, sha256); the fragment is PEP 503's ``#<hashname>=<hashvalue>``."""
    lines = "".join(
        '<a href="{}">{}</a><br>\n'.format(html.escape(quote(href) + "#sha256=" + digest), html.escape(name))
        for name, href, digest in sorted(links)
    )
    title = f"Links for {html.escape(project)}"
    return f"{_PAGE_HEAD}<title>{title}</title>\n</head>\n<body>\n<h1>{title}</h1>\n{lines}</body>\n</html>\n"


def simple_index(index_dir, files, files_dir=None):
    """``{path: page}`` of a PEP 503 index at ``index_dir`` for ``files`` (``{path: sha256}``) in ``files_dir``
    (default: ``index_dir`` itself, as download.pytorch.org/whl/<build> keeps them)."""
    files_dir = files_dir or index_dir
    groups = {}
    for path, digest in files.items():
        if posixpath.dirname(path) != files_dir or not path.endswith(DIST_SUFFIXES):
            continue
        project = normalize_name(dist_project(posixpath.basename(path)))
        href = posixpath.relpath(path, posixpath.join(index_dir, project))
        groups.setdefault(project, []).append((posixpath.basename(path), href, digest))
    pages = {posixpath.join(index_dir, "index.html"): _root_page(groups)}
    for project, links in groups.items():
        pages[posixpath.join(index_dir, project, "index.html")] = _project_page(project, links)
    return pages


def _sum_line(digest, name):
    # sha256sum's output format (GNU coreutils manual, "md5sum invocation": hash, two spaces for text mode, name).
    return f"{digest}  {name}\n"


def release(plan, files):
    """The release for ``files`` (``[{"path", "sha256"}]``: every fetched file, wheels included): ``id`` (from the
    content of every file), ``generated`` (``{path: text}``: PEP 503 pages, ``.sha256`` and ``SHA256SUMS`` files,
    ``manifest.json``) and ``sums``, the root ``SHA256SUMS`` that ``sha256sum -c`` checks the whole release with."""
    digests = {}
    for entry in files:
        path, digest = str(entry["path"]), str(entry["sha256"]).lower()
        if not re.match(r"^[0-9a-f]{64}$", digest):
            raise PlanError(f"{path}: {digest!r} is not a SHA-256")
        if digests.setdefault(path, digest) != digest:
            raise PlanError(f"{path} was fetched twice with different content ({digests[path]}, {digest})")
    generated = {}
    for directory in sorted({s["dir"] for s in plan["wheel_sets"] if s["kind"] == "torch"}):
        generated.update(simple_index(directory, digests))
    generated.update(simple_index("pypi/simple", digests, "pypi/packages"))
    by_dir = {}
    for entry in plan["files"]:
        name = posixpath.basename(entry["path"])
        generated[entry["path"] + ".sha256"] = _sum_line(digests[entry["path"]], name)
        by_dir.setdefault(posixpath.dirname(entry["path"]), []).append(_sum_line(digests[entry["path"]], name))
    for directory, lines in by_dir.items():
        generated[posixpath.join(directory, "SHA256SUMS")] = "".join(sorted(lines))
    manifest = {"layout": LAYOUT_VERSION, "files": [{"path": p, "sha256": d} for p, d in sorted(digests.items())]}
    generated["manifest.json"] = json.dumps(manifest, indent=1) + "\n"
    every = dict(digests)
    every.update({p: hashlib.sha256(t.encode("utf-8")).hexdigest() for p, t in generated.items()})
    sums = "".join(_sum_line(d, p) for p, d in sorted(every.items()))
    return {"id": hashlib.sha256(sums.encode()).hexdigest()[:16], "generated": generated, "sums": sums}


def sources(plan, cache, set_files):
    """``[{"path", "src"}]``: every file of the release and where it lies on the controller. ``set_files`` maps each
    wheel set's key to the file names its directory holds once pip is done; a file two sets share is taken once."""
    found = {}
    for entry in plan["files"]:
        found[entry["path"]] = entry["local"] or posixpath.join(cache, "files", entry["path"])
    for entry in plan["wheel_sets"]:
        names = set_files.get(entry["key"])
        if names is None:
            raise PlanError(f"internal: no file list for the wheel set {entry['dir']} ({entry['key']})")
        for name in names:
            found.setdefault(posixpath.join(entry["dir"], name), posixpath.join(cache, "sets", entry["key"], name))
    return [{"path": path, "src": src} for path, src in sorted(found.items())]
