#!/usr/bin/env bash
# TEST DOUBLE -- NOT A REAL @NAME@ INSTALLER.
# torchfleet.lab conda stand-in installer (@NAME@ @VERSION@, @OS@-@ARCH@), built by
# tests/harness/conda_standin/build_installer.py.  It has the interface of a constructor-built .sh installer
# (constructor/header.sh in github.com/conda/constructor: options -b -p -u -f -s -h, the "$0 must end in .sh" check, refusal of an
# existing prefix without -u/-f, no spaces, batch stdout lines, .nonadmin when not root) and lays down the prefix
# layout of 1.2, but the "base environment" is a Python venv made with the host's python3 and `conda` is the
# stand-in CLI (payload/conda_standin.py).  Set TORCHFLEET_STANDIN_FAIL_AFTER_UNPACK=1 to simulate an installer
# interrupted after unpacking (install_tmp/ left behind, conda-meta/history empty); TORCHFLEET_STANDIN_PYTHON
# picks the interpreter for the base venv (default: python3 on PATH).

if ! echo "$0" | grep '\.sh$' > /dev/null; then
    printf 'Please run using "bash"/"dash"/"sh"/"zsh", but not "." or "source".\n' >&2
    # Sourced: `return` ends it. Executed: `return` fails and `exit` ends it.
    # shellcheck disable=SC2317
    return 1 2>/dev/null || exit 1
fi

set -eu

INSTALLER_NAME="@NAME@"
INSTALLER_VER="@VERSION@"
THIS_PATH="$0"
BATCH=0
FORCE=0
SKIP_SCRIPTS=0
KEEP_PKGS=1
PREFIX="${HOME:-/opt}/@LOWER_NAME@"

usage() {
    printf "\nusage: %s [options]\n\nInstalls %s %s  (TEST DOUBLE: torchfleet.lab conda stand-in)\n\n" \
        "$THIS_PATH" "$INSTALLER_NAME" "$INSTALLER_VER"
    printf -- "-b           run install in batch mode (without manual intervention),\n"
    printf -- "             it is expected the license terms (if any) are agreed upon\n"
    printf -- "-f           no error if install prefix already exists\n"
    printf -- "-h           print this help message and exit\n"
    printf -- "-p PREFIX    install prefix, defaults to %s, must not contain spaces.\n" "$PREFIX"
    printf -- "-s           skip running pre/post-link/install scripts\n"
    printf -- "-u           update an existing installation\n"
    printf -- "-t           run package tests (not supported by the stand-in)\n\n"
}

while getopts "bifhkp:sut" x; do
    case "$x" in
        h) usage; exit 2 ;;
        b) BATCH=1 ;;
        i) BATCH=0 ;;
        f|u) FORCE=1 ;;
        k) KEEP_PKGS=1 ;;
        p) PREFIX="$OPTARG" ;;
        s) SKIP_SCRIPTS=1 ;;
        t) echo "ERROR: -t (package tests) is not supported by the conda stand-in" >&2; exit 1 ;;
        ?) printf "ERROR: did not recognize option '%s', please try -h\n" "$x" >&2; exit 1 ;;
    esac
done
: "$SKIP_SCRIPTS" "$KEEP_PKGS"

if [ "$BATCH" = "0" ]; then
    echo "NOTE: the conda stand-in (TEST DOUBLE) has no interactive mode; continuing as with -b." >&2
fi

case "$PREFIX" in
    *\ *) printf "ERROR: Cannot install into directories with spaces\n" >&2; exit 1 ;;
esac

# As conda/constructor constructor/header.sh (commit f57a3e7) lines 428-431: without -u or -f (both set FORCE=1,
# lines 167-169 and 184-186) ANY existing path is refused, an empty directory included (`[ -e "$PREFIX" ]`).
# With them it proceeds into the directory (REINSTALL=1, lines 432-434, is not read again) and removes nothing first.
if [ "$FORCE" = "0" ] && [ -e "$PREFIX" ]; then
    printf "ERROR: File or directory already exists: '%s'\n" "$PREFIX" >&2
    printf "If you want to update an existing installation, use the -u option.\n" >&2
    exit 1
fi

# As constructor/header.sh (commit f57a3e7) lines 436-450: the prefix is created first, then the free space of its
# filesystem (`df -Pk`) must exceed the installation's size plus a 50 MB buffer. constructor takes the size from
# the packages (shar.py: approx_size_kb(info, "total")); the stand-in's is what its base environment measures.
total_installation_size_kb="@TOTAL_KB@"
total_installation_size_mb="$(( total_installation_size_kb / 1024 ))"
if ! mkdir -p "$PREFIX"; then
    printf "ERROR: Could not create directory: '%s'.\n" "$PREFIX" >&2
    printf "Check permissions and available disk space (%s MB needed).\n" "$total_installation_size_mb" >&2
    exit 1
fi

free_disk_space_kb="$(df -Pk "$PREFIX" | tail -n 1 | awk '{print $4}')"
free_disk_space_kb_with_buffer="$((free_disk_space_kb - 50 * 1024))"
if [ "$free_disk_space_kb_with_buffer" -lt "$total_installation_size_kb" ]; then
    printf "ERROR: Not enough free disk space. Only %s MB are available, but %s MB are required (leaving a 50 MB buffer).\n" \
        "$((free_disk_space_kb_with_buffer / 1024))" "$total_installation_size_mb" >&2
    exit 1
fi
PREFIX=$(cd "$PREFIX"; pwd)
export PREFIX
echo "PREFIX=$PREFIX"

# Same as a real installer: no user configuration leaks into the install.
unset CONDARC MAMBARC 2>/dev/null || true

if [ "$(id -u)" != "0" ]; then
    touch "$PREFIX/.nonadmin"
fi

echo "Unpacking payload..."
mkdir -p "$PREFIX/install_tmp" "$PREFIX/conda-meta"
awk 'found { print } /^__TORCHFLEET_STANDIN_PAYLOAD__$/ { found = 1 }' "$THIS_PATH" \
    | base64 -d | tar -xzf - -C "$PREFIX/install_tmp"
# preconda: an empty history exists before the base environment is installed
: > "$PREFIX/conda-meta/history"

if [ "${TORCHFLEET_STANDIN_FAIL_AFTER_UNPACK:-0}" = "1" ]; then
    echo "ERROR: simulated interruption after unpacking (TORCHFLEET_STANDIN_FAIL_AFTER_UNPACK=1)" >&2
    exit 1
fi

echo "Installing base environment..."
BASE_PYTHON="${TORCHFLEET_STANDIN_PYTHON:-python3}"
# The venv is made without pip; setup_base.py then installs pip (and setuptools where ensurepip bundles it) with
# --force-reinstall unless conda-meta already records pip. A real installer run with -u relinks every package that
# conda-meta does not record (conda writes conda-meta/<dist>.json after a package's files, conda/core/link.py),
# so a package cut off half-way is laid down again; `python -m venv` would instead keep a half-installed pip,
# since ensurepip skips a pip that pip itself reports installed.
if ! "$BASE_PYTHON" -m venv --without-pip --system-site-packages "$PREFIX" >"$PREFIX/install_tmp/venv.log" 2>&1; then
    cat "$PREFIX/install_tmp/venv.log" >&2
    echo "ERROR: could not create the base environment with $BASE_PYTHON -m venv (python3-venv missing?)" >&2
    exit 1
fi
"$PREFIX/bin/python" "$PREFIX/install_tmp/setup_base.py" "$PREFIX" "$INSTALLER_NAME" "$INSTALLER_VER" \
    "$PREFIX/install_tmp"

rm -rf "$PREFIX/install_tmp"
echo "installation finished."
exit 0
