r"""Name registries for datasets, models, methods and tasks.

Everything the loop can run registers itself here by name; the loop
(:mod:`pyg_ext.train`) only ever looks names up, so it never imports a concrete
model. This module has no dependencies inside :mod:`pyg_ext`, so any layer may
import it.

Example:
    >>> from pyg_ext.registry import Registry
    >>> toys = Registry('toy')
    >>> @toys.register('double', description='Doubles its input.')
    ... def double(x):
    ...     return 2 * x
    >>> toys.get('double').obj(3)
    6
"""
import dataclasses
from dataclasses import dataclass
from typing import Any, Callable, Dict, Iterator, List, Optional

__all__ = [
    'Entry',
    'Registry',
    'DATASETS',
    'MODELS',
    'METHODS',
    'TASKS',
    'REGISTRIES',
    'register_dataset',
    'register_model',
    'register_method',
    'register_task',
]


@dataclass(frozen=True)
class Entry:
    r"""One registered object.

    Args:
        kind (str): The registry kind (``'dataset'``, ``'model'``, ...).
        name (str): The registered name.
        obj (Any): The registered object (loader function, model builder,
            :class:`~pyg_ext.train.Method` or :class:`~pyg_ext.train.Task`
            subclass).
        description (str): A one-line description.
        options (type, optional): A dataclass type holding the typed options
            that a config section may set for this entry.
    """
    kind: str
    name: str
    obj: Any
    description: str
    options: Optional[type] = None


def _first_line(obj: Any) -> str:
    doc = getattr(obj, '__doc__', None) or ''
    for line in doc.strip().splitlines():
        line = line.strip()
        if line:
            return line
    return ''


class Registry:
    r"""A name -> :class:`Entry` map for one kind of object.

    Registering a name twice raises a :class:`ValueError`; looking up an
    unknown name raises a :class:`ValueError` that lists the known names.

    Args:
        kind (str): What is registered (used in error messages).
    """
    def __init__(self, kind: str):
        self.kind = kind
        self._entries: Dict[str, Entry] = {}

    def register(self, name: str, obj: Any = None, *,
                 description: Optional[str] = None,
                 options: Optional[type] = None) -> Callable:
        r"""Registers :obj:`obj` under :obj:`name`; usable as a decorator.

        If :obj:`options` is not given and :obj:`obj` has an ``Options``
        attribute that is a dataclass, that is used.
        """
        if not isinstance(name, str) or not name:
            raise TypeError(f"{self.kind} name must be a non-empty string, "
                            f"got {name!r}")
        if options is not None and not dataclasses.is_dataclass(options):
            raise TypeError(f"'options' for {self.kind} '{name}' must be a "
                            f"dataclass type, got {options!r}")

        def decorator(obj: Any) -> Any:
            if name in self._entries:
                raise ValueError(
                    f"{self.kind} '{name}' is already registered "
                    f"(by {self._entries[name].obj!r})")
            opts = options
            if opts is None:
                cand = getattr(obj, 'Options', None)
                if cand is not None and dataclasses.is_dataclass(cand):
                    opts = cand
            desc = description if description is not None else _first_line(
                obj)
            self._entries[name] = Entry(self.kind, name, obj, desc, opts)
            return obj

        if obj is not None:
            return decorator(obj)
        return decorator

    def unregister(self, name: str) -> None:
        r"""Removes :obj:`name` (mainly for tests)."""
        self._entries.pop(name, None)

    def get(self, name: str) -> Entry:
        if name not in self._entries:
            known = ', '.join(sorted(self._entries)) or '(none)'
            raise ValueError(f"unknown {self.kind} '{name}'; known "
                             f"{self.kind}s: {known}")
        return self._entries[name]

    def names(self) -> List[str]:
        return sorted(self._entries)

    def __contains__(self, name: str) -> bool:
        return name in self._entries

    def __iter__(self) -> Iterator[Entry]:
        return iter(self._entries[k] for k in sorted(self._entries))

    def __len__(self) -> int:
        return len(self._entries)

    def __repr__(self) -> str:
        return f'{self.__class__.__name__}({self.kind!r}, {len(self)} entries)'


DATASETS = Registry('dataset')
MODELS = Registry('model')
METHODS = Registry('method')
TASKS = Registry('task')
REGISTRIES = {
    'dataset': DATASETS,
    'model': MODELS,
    'method': METHODS,
    'task': TASKS,
}

register_dataset = DATASETS.register
register_model = MODELS.register
register_method = METHODS.register
register_task = TASKS.register
