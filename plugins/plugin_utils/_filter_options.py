# Copyright: torchfleet.lab contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Controller-side helper for the collection's filters: a call with an option the filter does not have, or with
a value given twice, fails with the filter's name, the closest option and the list of options, instead of
Python's bare ``TypeError: ... got an unexpected keyword argument``.

Also :class:`ModuleUtils`, the filters' way to their module_utils: imported when a filter first runs, not when
Ansible loads the filter files.  ansible-core loads every filter file of a collection on the first use of any one of
its filters, in each worker process (one per task), and compiles each ``ansible_collections`` module from source
every time (lib/ansible/utils/collection_loader/_collection_finder.py, ``get_code``: ``compile(source=...)``, no
bytecode cache).  Imported at load time, the module_utils behind all the filters cost every task that uses one
filter about 0.12 s on the 2-core lab machine (20 set_fact tasks on localhost, each with one collection filter:
4.0 s, against 1.5 s with a filter of ansible-core; 1.7 s imported on use); imported on use, a task compiles only
what its own filters need."""

from __future__ import annotations

import difflib
import functools
import importlib
import inspect

from ansible.errors import AnsibleFilterError

MODULE_UTILS = "ansible_collections.torchfleet.lab.plugins.module_utils."


class ModuleUtils:
    """A module of the collection's module_utils, imported on the first attribute read (then from sys.modules)."""

    def __init__(self, name):
        self._name = MODULE_UTILS + name

    def load(self):
        """The module, imported now if it is not yet (the torchfleet.lab.preload callback calls this)."""
        return importlib.import_module(self._name)

    def __getattr__(self, attr):
        return getattr(self.load(), attr)

    def __repr__(self):
        return f"ModuleUtils({self._name!r})"


def _options(signature):
    params = list(signature.parameters.values())[1:]  # the first one is the value the filter is applied to
    return [p.name for p in params if p.kind in (p.POSITIONAL_OR_KEYWORD, p.KEYWORD_ONLY)]


def _forwarded(forwards):
    """The options that a filter taking ``**options`` hands on: those of its targets, less what it sets itself.
    ``forwards`` is a function that returns the pair, so that its targets are imported only when needed."""
    targets, exclude = forwards()
    names = []
    for target in targets:
        for param in list(inspect.signature(target).parameters.values())[1:]:
            if param.kind in (param.POSITIONAL_OR_KEYWORD, param.KEYWORD_ONLY) and param.name not in exclude:
                names.append(param.name)
    return names


def _unknown(signature, kwargs, extra):
    takes_any = any(p.kind == p.VAR_KEYWORD for p in signature.parameters.values())
    if takes_any and extra is None:
        return []  # the filter checks its options itself
    allowed = set(_options(signature)) | set(extra or ())
    return [key for key in kwargs if key not in allowed]


def _explain(name, signature, call, error, extra=None):
    """Why the filter refused ``call`` (its positional and keyword arguments), with its options listed."""
    args, kwargs = call
    options = list(dict.fromkeys(_options(signature) + list(extra or ())))
    known = ", ".join(options) or "none"
    unknown = _unknown(signature, kwargs, extra)
    if unknown:
        lines = []
        for key in unknown:
            close = difflib.get_close_matches(key, options, n=1, cutoff=0.6)
            hint = f" (did you mean {close[0]}?)" if close else ""
            lines.append(f"{name}: unknown option {key!r}{hint}")
        return "; ".join(lines) + f"; its options are: {known}"
    if not args:
        return f"{name} must be applied to a value ('VALUE | torchfleet.lab.{name}(...)'); its options are: {known}"
    return f"{name}: {error}; its options are: {known}"


def checked(name, func, forwards=None):
    """``func`` as a filter whose bad call names the filter and its options.

    ``forwards`` is a function returning ``(targets, exclude)`` for a filter that passes ``**options`` on to
    ``targets``: their parameters (after the first, less ``exclude``) are its options too, and any other name is
    refused here.  It is called on the filter's first call, not when the filter is loaded.
    ``wrapper.accepted_options()`` gives the options the tests hold the roles' calls against; None where the filter
    checks its options itself.
    """
    signature = inspect.signature(func)
    takes_any = any(p.kind == p.VAR_KEYWORD for p in signature.parameters.values())

    @functools.lru_cache(maxsize=None)
    def extra():
        return _forwarded(forwards) if forwards else None

    @functools.wraps(func)
    def wrapper(*args, **kwargs):
        try:
            signature.bind(*args, **kwargs)
        except TypeError as exc:
            raise AnsibleFilterError(_explain(name, signature, (args, kwargs), exc, extra())) from None
        if _unknown(signature, kwargs, extra()):
            raise AnsibleFilterError(_explain(name, signature, (args, kwargs), None, extra()))
        return func(*args, **kwargs)

    def accepted_options():
        if takes_any and extra() is None:
            return None
        return frozenset(_options(signature)) | frozenset(extra() or ())

    wrapper.accepted_options = accepted_options
    return wrapper


def checked_filters(filters, forwards=None):
    """A FilterModule's mapping with every filter wrapped by :func:`checked` (``forwards`` by filter name)."""
    forwards = forwards or {}
    return {name: checked(name, func, forwards.get(name)) for name, func in filters.items()}
