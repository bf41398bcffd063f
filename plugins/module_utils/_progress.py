# Copyright: torchfleet.lab contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The host side of ``torchfleet.lab.progress``: start a module as a supervised job, and poll it.

Private to torchfleet.lab.  Standard library only, Python 3.8 syntax, no import of other module_utils: the
action sends this file's text to the host as ``python -c`` (see :func:`command_script`) and calls
:func:`main` with ``start`` or ``poll`` and a JSON argument, so nothing is copied or left on the host.

``start`` reads the module's AnsiballZ script (the bytes Ansible pipes to the interpreter for a pipelined
module) from stdin or from a file, makes a private job directory (mode 0700) under ``base``, and forks a
detached supervisor (double fork and setsid, as ansible-core's ``modules/async_wrapper.py``
``daemonize_self`` does, so the connection's command can return).  The supervisor runs the interpreter on the
script in a session of its own (``start_new_session``), its stdout and stderr going to files, and watches a
heartbeat file whose mtime each poll renews: when no poll has come for ``timeout`` seconds (the controller
was interrupted or killed), it sends SIGTERM to the job's process group, SIGKILL after ``grace`` seconds to
what is left of the group and of the session (Linux: every ``/proc/PID/stat`` whose session id is the
job's), records why, and exits.  A supervisor that watches from the first instant leaves no moment in which
an interrupted controller orphans the job.

``start`` then waits up to ``wait`` seconds: a job done by then is answered at once (its rc, stdout and
stderr) and its directory removed, so a quick step costs the same round trips as the plain module.  Each
``poll`` renews the heartbeat, waits up to its own ``wait`` seconds for the job to end, and answers the sizes of
the ``watch`` paths and, once the job is done, its output, removing the directory in the same round trip.
"""

import contextlib
import json
import os
import signal
import stat
import subprocess
import sys
import tempfile
import time

DONE = "done"  # written last, atomically: the job's exit status
HEARTBEAT = "heartbeat"
STDOUT = "stdout"
STDERR = "stderr"
STOPPED = "stopped"  # why the supervisor stopped the job, when it did


def tree_size(path):
    """Bytes in the regular files under ``path`` (or of the file ``path``), each inode counted once; None
    when ``path`` does not exist.  Symbolic links are not followed."""
    try:
        info = os.lstat(path)
    except OSError:
        return None
    if not stat.S_ISDIR(info.st_mode):
        return info.st_size
    total = 0
    seen = set()
    for root, _dirs, files in os.walk(path):
        for name in files:
            try:
                info = os.lstat(os.path.join(root, name))
            except OSError:  # removed while we walk
                continue
            if info.st_nlink > 1:
                key = (info.st_dev, info.st_ino)
                if key in seen:
                    continue
                seen.add(key)
            total += info.st_size
    return total


def sizes(paths):
    return [[path, tree_size(path)] for path in paths]


def _write_atomic(path, text):
    tmp = path + ".tmp"
    with open(tmp, "w") as handle:
        handle.write(text)
    os.rename(tmp, path)


def session_pids(sid):
    """Processes whose session is ``sid`` (Linux: field 6 of ``/proc/PID/stat``; elsewhere none are found and
    the process group alone is signalled)."""
    found = []
    try:
        names = os.listdir("/proc")
    except OSError:
        return found
    for name in names:
        if not name.isdigit():
            continue
        try:
            with open(f"/proc/{name}/stat") as handle:
                fields = handle.read().rsplit(")", 1)[1].split()
        except (OSError, IndexError):
            continue
        # proc(5): after "(comm)" come state, ppid, pgrp, session.
        if len(fields) > 3 and fields[3] == str(sid):
            found.append(int(name))
    return found


def _signal_job(pgid, signum):
    with contextlib.suppress(OSError):
        os.killpg(pgid, signum)
    for pid in session_pids(pgid):
        with contextlib.suppress(OSError):
            os.kill(pid, signum)


def _alive(pgid):
    try:
        os.killpg(pgid, 0)
        return True
    except OSError:
        return bool(session_pids(pgid))


def stop_job(pgid, grace):
    """SIGTERM to the job's group and session, SIGKILL after ``grace`` seconds to whatever is left."""
    _signal_job(pgid, signal.SIGTERM)
    deadline = time.time() + grace
    while time.time() < deadline and _alive(pgid):
        time.sleep(0.2)
    if _alive(pgid):
        _signal_job(pgid, signal.SIGKILL)


def heartbeat_age(job):
    try:
        return time.time() - os.stat(os.path.join(job, HEARTBEAT)).st_mtime
    except OSError:
        return float("inf")


def supervise(job, argv, payload, timeout, grace, step=0.5):  # noqa: PLR0913
    """Run ``argv`` with ``payload`` on its stdin in a new session; stop it when the heartbeat goes stale.
    Returns the exit status written to ``DONE``."""
    with open(os.path.join(job, STDOUT), "wb") as out, open(os.path.join(job, STDERR), "wb") as err:
        child = subprocess.Popen(argv, stdin=subprocess.PIPE, stdout=out, stderr=err, start_new_session=True)
    try:
        child.stdin.write(payload)
        child.stdin.close()
    except OSError:  # the child died before reading it; its status tells
        pass
    while True:
        # wait() returns as soon as the child exits (CPython Lib/subprocess.py, Popen._wait with a timeout polls
        # waitpid at most 50 ms apart), so DONE is written then, not at the end of a sleep.
        try:
            child.wait(timeout=step)
            break
        except subprocess.TimeoutExpired:
            pass
        age = heartbeat_age(job)
        if age > timeout:
            _write_atomic(
                os.path.join(job, STOPPED),
                f"no poll from the controller for {int(age)} s (it was interrupted or lost the host): "
                "the job was stopped",
            )
            stop_job(child.pid, grace)
            break
    rc = child.wait()
    # Children the module left behind in its session die with it, finished or not.
    if _alive(child.pid):
        stop_job(child.pid, grace)
    _write_atomic(os.path.join(job, DONE), str(rc))
    if os.path.exists(os.path.join(job, STOPPED)):  # nobody polls any more: leave nothing behind
        report(job, [], remove=True)
    return rc


def _daemonize():
    """Fork twice with setsid between, like ansible-core modules/async_wrapper.py ``daemonize_self``; returns
    True in the daemon, False in the caller."""
    if os.fork():
        os.wait()  # the first child exits at once
        return False
    os.setsid()
    if os.fork():
        os._exit(0)  # pylint: disable=protected-access
    devnull = os.open(os.devnull, os.O_RDWR)
    for fd in (0, 1, 2):
        os.dup2(devnull, fd)
    os.closerange(3, 256)
    return True


def _read(path, limit=None):
    try:
        with open(path, "rb") as handle:
            data = handle.read() if limit is None else handle.read(limit)
    except OSError:
        return ""
    return data.decode("utf-8", "surrogateescape")


def report(job, watch, remove):
    """What a poll answers: the sizes, and once the job is done its rc, stdout, stderr and why it was stopped."""
    answer = {"job": job, "sizes": sizes(watch), "finished": os.path.exists(os.path.join(job, DONE))}
    if answer["finished"]:
        answer["rc"] = int(_read(os.path.join(job, DONE)) or "1")
        answer["stdout"] = _read(os.path.join(job, STDOUT))
        answer["stderr"] = _read(os.path.join(job, STDERR))
        answer["stopped"] = _read(os.path.join(job, STOPPED))
        if remove:
            for name in (DONE, STDOUT, STDERR, STOPPED, HEARTBEAT):
                with contextlib.suppress(OSError):
                    os.unlink(os.path.join(job, name))
            with contextlib.suppress(OSError):
                os.rmdir(job)
    return answer


def wait_done(job, seconds, step=0.05):
    deadline = time.time() + seconds
    while not os.path.exists(os.path.join(job, DONE)) and time.time() < deadline:
        time.sleep(step)


def start(options, payload):
    """Start the job; answer like :func:`report` after waiting up to ``options['wait']`` seconds."""
    base = os.path.expanduser(options.get("base") or "~/.ansible_async")
    if not os.path.isdir(base):
        os.makedirs(base, 0o700)
    job = tempfile.mkdtemp(prefix="torchfleet-progress-", dir=base)
    _write_atomic(os.path.join(job, HEARTBEAT), "")
    if _daemonize():
        try:
            supervise(job, options["argv"], payload, float(options["timeout"]), float(options.get("grace", 5)))
        except Exception as exc:  # pylint: disable=broad-except
            _write_atomic(os.path.join(job, STOPPED), f"the supervisor of the job failed: {exc}")
            _write_atomic(os.path.join(job, DONE), "1")
        finally:
            os._exit(0)  # pylint: disable=protected-access
    wait_done(job, float(options.get("wait", 0)))
    # The next poll comes an interval after this answer, not after the job started.
    with contextlib.suppress(OSError):
        os.utime(os.path.join(job, HEARTBEAT), None)
    return report(job, options.get("watch") or [], remove=True)


def poll(options):
    job = options["job"]
    with contextlib.suppress(OSError):
        os.utime(os.path.join(job, HEARTBEAT), None)
    if options.get("wait"):
        wait_done(job, float(options["wait"]))
    if not os.path.isdir(job):
        return {"job": job, "sizes": sizes(options.get("watch") or []), "finished": True, "lost": True}
    return report(job, options.get("watch") or [], remove=True)


def main(argv=None, stdin=None):
    argv = sys.argv[1:] if argv is None else argv
    mode, options = argv[0], json.loads(argv[1])
    if mode == "start":
        if options.get("payload_file"):
            with open(options["payload_file"], "rb") as handle:
                payload = handle.read()
        else:
            payload = (stdin or sys.stdin.buffer).read()
        answer = start(options, payload)
    else:
        answer = poll(options)
    sys.stdout.write(json.dumps(answer) + "\n")
    sys.stdout.flush()
