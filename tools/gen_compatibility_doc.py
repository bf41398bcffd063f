# Copyright: torchfleet.lab contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Write docs/compatibility.md from plugins/module_utils/_torch_matrix.py.

python tools/gen_compatibility_doc.py            # rewrite the doc
python tools/gen_compatibility_doc.py --check    # exit 1 when the committed doc is stale
"""

from __future__ import annotations

import argparse
import importlib.util
import sys
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[1]
MATRIX_PATH = REPO_ROOT / "plugins" / "module_utils" / "_torch_matrix.py"
DOC_PATH = REPO_ROOT / "docs" / "compatibility.md"
DASH = "-"


def load_matrix(path=MATRIX_PATH):
    """Import the data module from its file (it has no imports, so no collection path is needed)."""
    spec = importlib.util.spec_from_file_location("_torch_matrix_doc", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _vkey(text):
    return tuple(int(part) for part in text.split("."))


def _cuda_of(build):
    return f"{build[2:-1]}.{build[-1]}"


def _list(items):
    return ", ".join(items) if items else DASH


def _python_cell(rel):
    low, high = rel["python"]
    text = f"{low}-{high}"
    extra = []
    for py in rel.get("python_experimental", ()):
        only = rel.get("python_only_on", {}).get(py)
        extra.append("{} exp.{}".format(py, " ({} only)".format(", ".join(only)) if only else ""))
    return text + (" (+{})".format("; ".join(extra)) if extra else "")


def _conda_cell(rel):
    conda = rel.get("conda")
    if not conda:
        return "no"
    low, high = conda["python"]
    return "{} (py {}-{})".format(", ".join(conda["builds"]), low, high)


def _glibc_cell(rel):
    glibc = rel["glibc"]
    text = glibc["linux-x86_64"]
    notes = [f"{build}: {value}" for build, value in sorted(rel.get("glibc_by_build", {}).items())]
    if glibc["linux-aarch64"] != glibc["linux-x86_64"]:
        notes.append("aarch64: {}".format(glibc["linux-aarch64"]))
    return text + (" ({})".format("; ".join(notes)) if notes else "")


def _cuda_cell(rel, platform):
    text = _list(rel["cuda"].get(platform, ()))
    off = rel.get("cuda_off_matrix", {}).get(platform, ())
    return text + (" (off-matrix, by name only: {})".format(", ".join(off)) if off else "")


def _companion_cell(rel, name):
    text = rel[name] or DASH
    lacking = [build for build, names in sorted(rel.get("index_lacks", {}).items()) if name in names]
    return text + (" (not on the {} index)".format(", ".join(lacking)) if lacking else "")


def _row(cells):
    return "| " + " | ".join(cells) + " |"


def _releases_table(matrix):
    """One row per PyTorch release."""
    lines = []
    header = [
        "Release",
        "Python",
        "Linux x86_64 CUDA",
        "Linux aarch64 CUDA",
        "Windows CUDA",
        "ROCm",
        "torchvision",
        "torchaudio",
        "PyPI Linux",
        "conda",
        "macOS Intel",
        "glibc",
    ]
    lines.append(_row(header))
    lines.append(_row(["---"] * len(header)))
    for version in sorted(matrix.RELEASES, key=_vkey, reverse=True):
        rel = matrix.RELEASES[version]
        lines.append(
            _row(
                [
                    version,
                    _python_cell(rel),
                    _cuda_cell(rel, "linux-x86_64"),
                    _cuda_cell(rel, "linux-aarch64"),
                    _cuda_cell(rel, "windows-x86_64"),
                    _list(rel["rocm"]),
                    _companion_cell(rel, "torchvision"),
                    _companion_cell(rel, "torchaudio"),
                    "{} / {}".format(rel["pypi_linux_x86_64"], rel["pypi_linux_aarch64"]),
                    _conda_cell(rel),
                    "yes" if rel["macos_x86_64"] else "no",
                    _glibc_cell(rel),
                ]
            )
        )
    return lines


def _driver_table(matrix):
    """The CUDA toolkit minimum drivers, after the notes on the releases table."""
    lines = [
        "",
        "Windows on Arm64 has no supported build (no `win_arm64` wheels on PyPI, none in the install matrix).",
        f"Apple silicon needs macOS {matrix.MPS_MACOS_MIN}+ for MPS.",
        "",
        "## CUDA toolkit minimum NVIDIA driver",
        "",
        "NVIDIA CUDA Toolkit Release Notes, Table 3 (GA rows). The resolver picks the newest CUDA build of a",
        "release whose minimum driver is not newer than the host's driver (compared numerically per component):",
        "`driver_rule: toolkit`.",
        "",
        _row(["CUDA", "Build", "Linux (x86_64, aarch64)", "Windows x86_64"]),
        _row(["---"] * 4),
    ]
    for cuda in sorted(matrix.CUDA_MIN_DRIVER, key=_vkey):
        linux, windows = matrix.CUDA_MIN_DRIVER[cuda]
        if cuda in matrix.WINDOWS_DRIVER_FROM_BRANCH:
            windows = "{} (R{} branch; Table 3 says N/A)".format(windows, windows.split(".")[0])
        build = "cu" + cuda.replace(".", "")
        lines.append(_row([cuda, build, ">= " + linux, ">= " + windows]))
    return lines


def _minor_table(matrix):
    """The minor-version compatibility floors."""
    lines = [
        "",
        "## Minor-version compatibility",
        "",
        "When no build qualifies fully, the resolver takes the newest build whose CUDA major family the driver runs",
        "under NVIDIA's minor-version compatibility (Release Notes Table 2; CUDA Compatibility guide), but only when",
        "the build carries machine code (SASS) for every GPU of the host: nothing can be JIT-compiled from PTX on",
        "an older driver. The result then says `driver_rule: minor_version`, `min_driver` (the floor below) and",
        "`full_driver` (the Table 3 minimum). Without GPU compute capabilities the build is allowed with a note.",
        "",
        _row(["CUDA", "Linux (x86_64, aarch64)", "Windows x86_64"]),
        _row(["---"] * 3),
    ]
    for major in sorted(matrix.CUDA_MINOR_COMPAT_DRIVER, key=int):
        linux, windows = matrix.CUDA_MINOR_COMPAT_DRIVER[major]
        lines.append(_row([f"{major}.x", ">= " + linux, ">= " + windows]))
    return lines


def _sass_table(matrix):
    """The compute capabilities each CUDA wheel carries machine code for."""
    lines = [
        "",
        "## Machine code per build",
        "",
        "Compute capabilities each CUDA wheel carries SASS for (TORCH_CUDA_ARCH_LIST of PyTorch's build scripts, or",
        "RELEASE.md's CUDA support matrix); a GPU of capability X.z runs SASS built for X.y with y <= z. Builds not",
        "listed have no recorded list: with known GPUs, minor-version compatibility is then refused for them.",
        "",
        _row(["Build", "Platform", "Releases", "SASS for compute capability"]),
        _row(["---"] * 4),
    ]
    grouped = {}
    for version in sorted(matrix.CUDA_ARCHS, key=_vkey):
        for platform, builds in matrix.CUDA_ARCHS[version].items():
            for build, archs in builds.items():
                grouped.setdefault((build, platform, archs), []).append(version)
    for (build, platform, archs), versions in sorted(
        grouped.items(), key=lambda i: (_vkey(_cuda_of(i[0][0])), i[0][1])
    ):
        lines.append(_row([build, platform, ", ".join(versions), ", ".join(archs)]))
    return lines


def render(matrix):
    lines = [
        "# PyTorch compatibility",
        "",
        "<!-- Generated by tools/gen_compatibility_doc.py from plugins/module_utils/_torch_matrix.py;"
        " do not edit by hand. -->",
        "",
        "What the `torchfleet.lab.torch_build` filter knows about each PyTorch release. Sources are cited in",
        "`plugins/module_utils/_torch_matrix.py`; a dash means none exists or none could be verified.",
        "",
        "- **Python**: stable range from the wheels on PyPI; *exp.* marks Pythons the release calls experimental",
        "  (used only when asked for).",
        "- **PyPI Linux**: the build plain `pip install torch` gets on Linux x86_64 / aarch64; every other build comes",
        "  from `https://download.pytorch.org/whl/<build>`.",
        "- **conda**: builds the `pytorch` channel (`-c pytorch`) carries; the channel ends with 2.5.1.",
        "- **glibc**: minimum glibc of the Linux wheels (manylinux2014 = 2.17, manylinux_2_28 = 2.28).",
        "- **CUDA** columns list release builds (PyTorch's release matrix). An *off-matrix* build was seen on an",
        "  index listing only: it is never chosen, and used only when asked for by name, with a warning.",
        "- A companion *not on* a build's index is left out (null, with a note) when that index is used.",
        "",
    ]
    lines += _releases_table(matrix) + _driver_table(matrix) + _minor_table(matrix) + _sass_table(matrix)
    lines.append("")
    return "\n".join(lines)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--check", action="store_true", help="fail when the doc differs from the data")
    parser.add_argument("--output", type=Path, default=DOC_PATH, help="doc path (default: docs/compatibility.md)")
    args = parser.parse_args(argv)
    text = render(load_matrix())
    if args.check:
        current = args.output.read_text(encoding="utf-8") if args.output.exists() else None
        if current != text:
            if current is None:
                problem = f"{args.output} is missing"
            else:
                problem = f"{args.output} is out of date with plugins/module_utils/_torch_matrix.py"
            print(f"{problem}; regenerate it with: python tools/gen_compatibility_doc.py", file=sys.stderr)
            return 1
        print(f"{args.output} is up to date")
        return 0
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(text, encoding="utf-8")
    print(f"wrote {args.output}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
