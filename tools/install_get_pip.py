"""Lay the offline pip bootstrap where ansible-test looks for it.

ansible-test names the file after the pip version it pins (``get_pip_24_2.py`` for pip 24.2)
and reads it from ``~/.ansible/test/cache`` before trying to download it.
"""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import ansible_test

source = Path(ansible_test.__file__).parent / "_internal" / "python_requirements.py"
match = re.search(r"pip='([0-9.]+)'", source.read_text())
if not match:
    raise SystemExit(f"cannot find the pinned pip version in {source}; update tools/install_get_pip.py")
target = Path.home() / ".ansible" / "test" / "cache" / f"get_pip_{match.group(1).replace('.', '_')}.py"
target.parent.mkdir(parents=True, exist_ok=True)
shutil.copyfile(Path(__file__).with_name("get_pip_offline.py"), target)
print(f"offline pip bootstrap for pip {match.group(1)}: {target}")
