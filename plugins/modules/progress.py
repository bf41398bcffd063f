#!/usr/bin/python
# Copyright: torchfleet.lab contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)


DOCUMENTATION = r"""
---
module: progress
version_added: 1.1.0
short_description: Run a long module and print how far it has got every few seconds
description:
  - 'Runs the module O(module) with the arguments O(args) and, while it runs, prints one line per host every
    O(interval) seconds with the size of the paths in O(watch) and how much they grew, for example
    "tf-uv: installing torch: 412 MiB in /opt/envs/x (+35 MiB/5 s), 40 s". Ansible modules cannot stream
    their output, so a long download or install is otherwise silent for minutes.'
  - The task's result is the wrapped module's result, unchanged (C(changed), C(rc), C(stdout), C(stderr),
    C(failed), C(msg)), so C(register), C(changed_when) and C(failed_when) work as on the module itself. The
    task's C(environment), C(become) and C(no_log) apply to the module as they would to the module's own task.
  - The module runs on the host as a job under a supervisor that the first command starts. Every poll renews
    a heartbeat file; when no poll has come for O(timeout) seconds (C(ansible-playbook) was interrupted or
    killed, or lost the host) the supervisor stops the job's process group and session (SIGTERM, then
    SIGKILL 5 s later), so nothing the job started keeps running on the host.
  - A step that ends within O(interval) seconds is answered by the command that started it, with the same
    number of round trips as the module alone and no progress line.
  - The module runs as a module, without its action plugin, when progress lines are printed. Use it for
    modules whose action only runs the module on POSIX hosts (C(ansible.builtin.command), C(get_url),
    C(apt), C(dnf), C(torchfleet.lab.conda_env)).
author:
  - torchfleet.lab contributors (!UNKNOWN)
options:
  module:
    description: The module to run, by its full name, for example V(ansible.builtin.command).
    type: str
    required: true
  args:
    description: The module's arguments.
    type: dict
    default: {}
  label:
    description: What the step does, printed in each line, for example V(installing torch).
    type: str
  watch:
    description:
      - Paths on the host whose size (of the file, or of every regular file under the directory, each inode
        once, links not followed) is printed with its growth since the last line. A path that does not exist
        yet is reported as such.
      - The lines, paths included, are printed even when the task has C(no_log), so never name a secret here.
    type: list
    elements: str
    default: []
  interval:
    description: Seconds between lines; also how long the first command waits for a quick step to end.
    type: int
    default: 5
  timeout:
    description:
      - Seconds without a poll after which the supervisor on the host stops the job. At least twice
        O(interval).
    type: int
    default: 30
  enabled:
    description:
      - V(false) runs the module plainly, as its own task would, with no supervisor, poll or line. The roles
        pass C(torchfleet_progress).
    type: bool
    default: true
extends_documentation_fragment:
  - ansible.builtin.action_common_attributes
attributes:
  check_mode:
    support: full
    details: In check mode the module runs plainly (a dry run does not download or install) and decides itself.
  diff_mode:
    support: none
  platform:
    support: full
    platforms: [posix, windows]
    details:
      - The supervisor needs a POSIX host with Python. On Windows (a PowerShell connection) there is no such
        supervisor and the module runs plainly, through its action plugin, without progress lines.
      - Process sessions are read from C(/proc) on Linux; on macOS the job's process group is stopped.
notes:
  - The module's arguments go to the host on standard input (pipelining) or in a file of Ansible's temporary
    directory, never on a command line, and are never printed; only O(label), the O(watch) paths and their
    sizes are.
  - Modules that are not Python modules (PowerShell, binary, old-style) and tasks that are C(async) already run
    plainly.
  - The job's directory is in the C(async_dir) of the shell plugin (C(~/.ansible_async) of the user the module
    runs as) and is removed when its result has been read.
"""

EXAMPLES = r"""
- name: Install torch into the environment
  torchfleet.lab.progress:
    module: ansible.builtin.command
    args:
      argv: [/opt/uv/bin/uv, pip, install, --python, /opt/envs/torch/bin/python, torch]
    label: installing torch
    watch: [/opt/envs/torch, /root/.cache/uv]
    enabled: "{{ torchfleet_progress }}"
  register: install
  changed_when: install.stderr is search('(?m)^Installed ')
"""

RETURN = r"""
# The wrapped module's return values, unchanged.
"""
