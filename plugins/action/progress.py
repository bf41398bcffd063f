# Copyright: torchfleet.lab contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Run a module while printing, every few seconds, how much a directory it fills has grown
(``torchfleet.lab.progress``).

An Ansible module cannot stream output: its result comes back when it ends.  This action runs the wrapped
module as a job supervised on the host (``plugins/module_utils/_progress.py``, sent as ``python -c``), polls
it every ``interval`` seconds, prints one line per host and poll, and returns the module's own result.

Why not ansible-core's async (``_execute_module(wrap_async=True)`` and ``async_status``): the async_wrapper
(ansible-core 2.19 ``lib/ansible/modules/async_wrapper.py``) stops a job only at its time limit, so a job
outlives an interrupted controller for as long as that limit; and async turns pipelining off
(``plugins/connection/ssh.py`` ``is_pipelining_enabled``: ``if wrap_async ... return False``) and uploads
the wrapper too, several round trips more for a step that turns out quick.  Here the supervisor stops the
job when polls stop (a heartbeat file), and the start command waits ``interval`` seconds, so a quick step
answers in the start command itself.

What is reused from ``ActionBase._execute_module`` (same file, ansible-core 2.19 lines 1007-1206): the module
arguments (``_update_module_args``), the AnsiballZ payload (``_configure_module``), the environment string
(``_compute_environment_string``, so the task's ``environment:`` applies), ``become`` (the commands are
sudoable), pipelining or an uploaded payload as the connection allows, and the parsing of the module's
output (``_parse_returned_data``, ``remove_internal_keys``, ``stdout_lines``).
"""

from __future__ import annotations

import json
import os
import shlex
import time

from ansible.errors import AnsibleActionFail
from ansible.module_utils.parsing.convert_bool import boolean
from ansible.plugins.action import ActionBase
from ansible.utils.display import Display
from ansible.utils.vars import merge_hash
from ansible.vars.clean import remove_internal_keys

display = Display()

HOST_SCRIPT = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "module_utils", "_progress.py")

ARGUMENT_SPEC = {
    "module": {"type": "str", "required": True},
    "args": {"type": "dict", "default": {}},
    "label": {"type": "str"},
    "watch": {"type": "list", "elements": "str", "default": []},
    "interval": {"type": "int", "default": 5},
    "timeout": {"type": "int", "default": 30},
    "enabled": {"type": "raw", "default": True},
}


def human(size):
    """``412 MiB``, ``1.2 GiB``, ``35 KiB``, ``0 B``."""
    value = float(abs(size))
    for unit in ("B", "KiB", "MiB", "GiB"):
        if value < 1024 or unit == "GiB":
            break
        value /= 1024
    text = f"{value:.1f}" if unit == "GiB" or (unit != "B" and value < 10) else f"{value:.0f}"
    return ("-" if size < 0 else "") + f"{text} {unit}"


def total(sizes):
    return sum(size for _path, size in sizes if size is not None)


def progress_line(host, label, sizes, previous, seconds, elapsed):  # noqa: PLR0913
    """``host: label: 412 MiB in /opt/envs/x (+35 MiB/5 s), 40 s``."""
    found = [f"{human(size)} in {path}" for path, size in sizes if size is not None]
    if not sizes:
        what = "running"
    elif found:
        what = ", ".join(found)
    else:
        what = "nothing yet in " + ", ".join(path for path, _size in sizes)
    delta = total(sizes) - total(previous) if previous is not None else None
    growth = ""
    if delta is not None and sizes:
        sign = "+" if delta >= 0 else ""
        growth = f" ({sign}{human(delta)}/{seconds:.0f} s)"
    return f"{host}: {label}: {what}{growth}, {elapsed:.0f} s"


def host_script():
    with open(HOST_SCRIPT, encoding="utf-8") as handle:
        return handle.read() + "\nmain()\n"


class ActionModule(ActionBase):
    TRANSFERS_FILES = False
    _supports_check_mode = True

    def run(self, tmp=None, task_vars=None):
        result = super().run(tmp, task_vars)
        del tmp  # unused since Ansible 2.5
        task_vars = task_vars or {}
        _validation, params = self.validate_argument_spec(argument_spec=ARGUMENT_SPEC)
        try:
            enabled = boolean(params["enabled"], strict=True)
        except TypeError as exc:
            raise AnsibleActionFail(f"torchfleet.lab.progress: enabled must be true or false ({exc})") from exc
        if params["interval"] < 1 or params["timeout"] < 2 * params["interval"]:
            raise AnsibleActionFail(
                "torchfleet.lab.progress: interval must be at least 1 and timeout at least twice the interval "
                f"(interval={params['interval']}, timeout={params['timeout']})"
            )
        module, module_args = params["module"], dict(params["args"])

        reason = self._plain_reason(enabled)
        if reason is None:
            outcome = self._run_with_progress(module, module_args, params, task_vars)
            if outcome is not None:
                return merge_hash(result, outcome)
            reason = "the module is not a Python module"
        display.vvv(f"torchfleet.lab.progress: {module} runs without progress lines: {reason}")
        return merge_hash(result, self._run_plain(module, module_args, task_vars))

    def _plain_reason(self, enabled):
        if not enabled:
            return "progress is off (torchfleet_progress)"
        if getattr(getattr(self._connection, "_shell", None), "SHELL_FAMILY", "") == "powershell":
            return "Windows has no POSIX supervisor"
        if self._task.check_mode:
            return "check mode"
        if self._task.async_val:
            return "the task is async already"
        return None

    def _run_plain(self, module, module_args, task_vars):
        """The wrapped module as its own task would run it, through its action plugin if it has one."""
        task = self._task.copy()
        task.action = module
        task.args = module_args
        loader = self._shared_loader_obj.action_loader
        collections = self._task.collections
        name = module if loader.has_plugin(module, collection_list=collections) else "ansible.legacy.normal"
        handler = loader.get(
            name,
            task=task,
            connection=self._connection,
            play_context=self._play_context,
            loader=self._loader,
            templar=self._templar,
            shared_loader_obj=self._shared_loader_obj,
            collection_list=collections,
        )
        return handler.run(task_vars=task_vars)

    def _host_command(self, interpreter, mode, options, environment=""):
        parts = [environment, interpreter, "-c", shlex.quote(host_script()), mode, shlex.quote(json.dumps(options))]
        return " ".join(part for part in parts if part)

    def _call(self, interpreter, mode, options, environment="", in_data=None):
        res = self._low_level_execute_command(
            self._host_command(interpreter, mode, options, environment), sudoable=True, in_data=in_data
        )
        lines = [line for line in (res.get("stdout") or "").splitlines() if line.startswith("{")]
        try:
            return json.loads(lines[-1]), res
        except (IndexError, ValueError):
            return None, res

    def _payload(self, module, module_args, task_vars):
        """(style, shebang, AnsiballZ bytes, serialization profile) of the wrapped module."""
        self._update_module_args(module, module_args, task_vars)
        configured = self._configure_module(module_name=module, module_args=module_args, task_vars=task_vars)
        if len(configured) == 2:  # ansible-core 2.19: (module bits, path)
            bits = configured[0]
            return bits.module_style, bits.shebang, bits.b_module_data, bits.serialization_profile
        # 2.16 to 2.18: (style, shebang, data, path), and _parse_returned_data takes no profile
        style, shebang, payload_data, _path = configured
        return style, shebang, payload_data, None

    def _run_with_progress(self, module, module_args, params, task_vars):
        style, shebang, payload_data, profile = self._payload(module, module_args, task_vars)
        if style != "new" or not shebang:
            return None
        self._used_interpreter = shebang
        interpreter = shebang.replace("#!", "").strip()
        host = task_vars.get("inventory_hostname", "host")
        label = params["label"] or f"running {module}"
        watch = params["watch"]
        interval = params["interval"]
        options = {
            "argv": shlex.split(interpreter),
            "timeout": params["timeout"],
            "wait": interval,
            "watch": watch,
            "base": self.get_shell_option("async_dir", default="~/.ansible_async"),
        }
        in_data = None
        if self._is_pipelining_enabled("new"):
            in_data = payload_data
        else:
            tmpdir = self._make_tmp_path()
            payload = self._connection._shell.join_path(tmpdir, "AnsiballZ_progress_payload")
            self._transfer_data(payload, payload_data)
            self._fixup_perms2([tmpdir, payload])
            options["payload_file"] = payload

        # A worker whose ansible-playbook was killed is re-parented and would poll on, keeping the job alive.
        controller = os.getppid()
        started = time.monotonic()
        try:
            answer, res = self._call(
                interpreter, "start", options, environment=self._compute_environment_string(), in_data=in_data
            )
        finally:
            if in_data is None:
                self._remove_tmp_path(self._connection._shell.tmpdir)
        if answer is None:
            return self._host_failure("start", res)

        # Each poll waits on the host until the job is done or an interval has passed since the last answer
        # (_progress.py poll, "wait"), so the lines keep their pace and the task ends as soon as the job does,
        # not at the next poll (which would add half an interval to every long step, on average).
        answered = time.monotonic()
        previous, previous_at, next_at, misses = None, answered, answered + interval, 0
        while not answer.get("finished"):
            display.display(
                progress_line(host, label, answer["sizes"], previous, answered - previous_at, answered - started),
                log_only=False,
            )
            previous, previous_at = answer["sizes"], answered
            if os.getppid() != controller:
                raise AnsibleActionFail(
                    "ansible-playbook has gone; the job on the host stops when its heartbeat is older than "
                    f"{params['timeout']} s"
                )
            wait = round(max(0.0, next_at - time.monotonic()), 2)
            polled, res = self._call(interpreter, "poll", {"job": answer["job"], "watch": watch, "wait": wait})
            next_at = time.monotonic() + interval
            if polled is None:
                misses += 1
                if misses * interval >= params["timeout"]:
                    return self._host_failure("poll", res)
                time.sleep(max(0.0, next_at - time.monotonic()))  # a failed poll is tried again an interval later
                continue
            misses = 0
            answer, answered = polled, time.monotonic()
        return self._module_result(answer, profile)

    def _host_failure(self, what, res):
        # stdout may echo the environment string of the command: never show it.
        return {
            "failed": True,
            "changed": False,
            "rc": res.get("rc"),
            "msg": f"torchfleet.lab.progress could not {what} the job on the host (rc={res.get('rc')})",
            "module_stderr": "" if self._task.no_log else res.get("stderr", ""),
        }

    def _module_result(self, answer, profile):
        if answer.get("lost"):
            return {
                "failed": True,
                "changed": False,
                "msg": "the job's directory is gone from the host: its supervisor stopped it after a poll came "
                "later than the timeout, or someone removed it; the module's result is lost",
            }
        res = {"rc": answer["rc"], "stdout": answer["stdout"], "stderr": answer["stderr"]}
        data = self._parse_returned_data(res) if profile is None else self._parse_returned_data(res, profile)
        if answer.get("stopped"):
            data = {"failed": True, "changed": False, "msg": answer["stopped"]}
        data.pop("_ansible_suppress_tmpdir_delete", None)
        remove_internal_keys(data)
        for name in ("stdout", "stderr"):
            if name in data and f"{name}_lines" not in data:
                data[f"{name}_lines"] = (data.get(name) or "").splitlines()
        if self._discovered_interpreter_key:
            data.setdefault("ansible_facts", {})
            data["ansible_facts"][self._discovered_interpreter_key] = self._discovered_interpreter
        return data
