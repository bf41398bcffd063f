# Copyright: torchfleet.lab contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The batches of a rolling run: ``torchfleet_serial`` and ``torchfleet_max_fail_percentage`` of site.yml and
train.yml, checked before the play they steer starts, and the batches Ansible will cut from them.

Ansible's own handling, which this mirrors (ansible-core 2.19.14):

- ``serial`` is a list of batch sizes, each an integer or a percentage string ``"N%"``; a scalar is a list of
  one; the last size repeats until every host had its turn; a size of 0 or less, or no size at all, puts every
  host in one batch; a percentage is ``int(N / 100 * hosts)`` or 1 when that is 0
  (lib/ansible/executor/playbook_executor.py, ``_get_serialized_batches``; lib/ansible/utils/helpers.py,
  ``pct_to_int``). Anything else (``"abc"``, ``"1.5"``) stops ansible-playbook with "Unexpected Exception, this is
  probably a bug", and ``true`` is taken as 1: hence the check here, with a message that says what to change.
- ``max_fail_percentage`` is a number (a ``%`` is stripped); the play stops when the failed hosts are more than
  that share of the batch (lib/ansible/playbook/base.py, ``isa == 'percent'``; lib/ansible/plugins/strategy/
  linear.py: ``len(failed_hosts) / batch_size > percentage``), so 0 stops at the first failure.
- Both are play keywords, templated once per play with the play's variables, extra vars and the play's own
  ``vars``/``vars_files``, with no host: inventory host and group variables are not seen there
  (lib/ansible/executor/playbook_executor.py, ``play.post_validate`` after ``get_vars(play=play)``;
  lib/ansible/vars/manager.py, ``get_vars``: inventory variables only ``if host``).
  Documentation: https://docs.ansible.com/ansible/latest/playbook_guide/playbooks_strategies.html
"""

from __future__ import annotations

import re

_PERCENT = re.compile(r"^\s*(\d+)\s*%\s*$")
_INTEGER = re.compile(r"^\s*(\d+)\s*$")
_NUMBER = re.compile(r"^\s*(\d+(\.\d+)?)\s*%?\s*$")

SERIAL_HINT = (
    'give a batch size (2), a share of the hosts ("25%"), or a list of them ([1, "25%", "100%"]), e.g. '
    '-e torchfleet_serial=2 or -e \'{"torchfleet_serial": [1, "25%"]}\''
)


def serial_sizes(value, problems):
    """``torchfleet_serial`` as Ansible's list of sizes (ints and ``"N%"``); [] (one batch) when unset."""
    if value is None or value == "":
        return []
    items = value if isinstance(value, (list, tuple)) else [value]
    if not items:
        problems.append(f"torchfleet_serial=[] names no batch size; {SERIAL_HINT}, or leave it unset.")
        return []
    sizes = []
    for item in items:
        size = _serial_item(item)
        if size is None:
            problems.append(f"torchfleet_serial has {item!r}, which is not a batch size; {SERIAL_HINT}.")
        else:
            sizes.append(size)
    return sizes


def _serial_item(item):
    if isinstance(item, bool):
        return None
    if isinstance(item, int):
        return item if item >= 0 else None
    if isinstance(item, str):
        percent = _PERCENT.match(item)
        if percent and 1 <= int(percent.group(1)) <= 100:
            return f"{int(percent.group(1))}%"
        integer = _INTEGER.match(item)
        if integer:
            return int(integer.group(1))
    return None


def max_fail(value, problems):
    """``torchfleet_max_fail_percentage`` as a float from 0 to 100, or None (Ansible's default) when unset."""
    if value is None or value == "":
        return None
    number = None
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        number = float(value)
    elif isinstance(value, str) and _NUMBER.match(value):
        number = float(_NUMBER.match(value).group(1))
    if number is None or not 0 <= number <= 100:
        problems.append(
            f"torchfleet_max_fail_percentage={value!r} is not a percentage from 0 to 100: give the share of a "
            "batch that may fail before the play stops for every host (0 stops at the first failure), e.g. "
            "-e torchfleet_max_fail_percentage=25, or leave it unset (a batch stops only when all its hosts fail)."
        )
    return number


def _size(item, count):
    """One entry of serial as a number of hosts (``pct_to_int``: a share rounds down, and never to 0)."""
    if isinstance(item, str):
        return int(int(item[:-1]) / 100.0 * count) or 1
    return item


def batches(sizes, hosts):
    """The batches Ansible cuts HOSTS into with serial SIZES (``_get_serialized_batches``)."""
    left, cut, index = list(hosts), [], 0
    while left:
        size = _size(sizes[min(index, len(sizes) - 1)] if sizes else 0, len(hosts))
        if size <= 0:
            cut.append(left)
            break
        cut.append(left[:size])
        left = left[size:]
        index += 1
    return cut


def split_group(cut, together, group, hosts):
    """A problem when the hosts TOGETHER (a torchrun job's) fall in more than one of the batches CUT."""
    spread = [batch for batch in cut if any(host in together for host in batch)]
    if len(spread) <= 1:
        return []
    counts = ", ".join(str(sum(host in together for host in batch)) for batch in spread)
    return [
        f"torchfleet_serial splits trainers_group ({group}) across {len(spread)} batches ({counts} of its "
        f"{len(together)} hosts), but its torchrun job needs all of them at once. Leave torchfleet_serial unset for "
        f"train.yml (or give at least {len(hosts)}), or set trainers_distributed: false to train host by host in "
        "batches."
    ]


def plan(serial=None, max_fail_percentage=None, hosts=(), together=(), group=""):
    """Check the two values and cut the batches; ``problems`` lists what to change (empty when all is well)."""
    problems = []
    sizes = serial_sizes(serial, problems)
    percentage = max_fail(max_fail_percentage, problems)
    cut = batches(sizes, hosts) if not problems else []
    if cut and together:
        problems.extend(split_group(cut, list(together), group, list(hosts)))
    return {"sizes": sizes, "max_fail_percentage": percentage, "batches": cut, "problems": problems}
