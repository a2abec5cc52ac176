r"""Device handling shared by every entry point: resolving a device name,
moving (nested) data, and checking that a model and its data agree.

Example:
    >>> import torch
    >>> resolve_device('cpu')
    device(type='cpu')
    >>> move_to({'x': torch.ones(2)}, 'cpu')['x'].device.type
    'cpu'
"""
import copy
import dataclasses
from typing import Any, Optional, Union

import torch

__all__ = ['DeviceLike', 'resolve_device', 'move_to', 'module_device',
           'data_device', 'place']

DeviceLike = Union[str, torch.device, int]


def resolve_device(device: Optional[DeviceLike], name: str = 'device'
                   ) -> torch.device:
    r"""Turns :obj:`device` into a :class:`torch.device` that exists here.

    ``'auto'`` picks ``'cuda'`` when CUDA is available, else ``'cpu'``.

    Raises:
        ValueError: naming :obj:`name`, for an unknown device string or a
            CUDA device on a machine without CUDA (or without that index).
    """
    if device is None or device == 'auto':
        return torch.device('cuda' if torch.cuda.is_available() else 'cpu')
    if isinstance(device, bool) or not isinstance(device,
                                                  (str, torch.device, int)):
        raise TypeError(f"{name}: expected a device name such as 'cpu', "
                        f"'cuda', 'cuda:1' or 'auto', got "
                        f"{type(device).__name__} {device!r}")
    try:
        dev = torch.device(device)
    except (RuntimeError, ValueError, TypeError):
        raise ValueError(f"{name}: unknown device {device!r}; expected "
                         f"'cpu', 'cuda', 'cuda:<index>' or 'auto'") from None
    if dev.type == 'cuda':
        if not torch.cuda.is_available():
            raise ValueError(f"{name}: {str(device)!r} was requested but "
                             f"CUDA is not available on this machine; use "
                             f"'cpu' or 'auto'")
        if dev.index is not None and dev.index >= torch.cuda.device_count():
            raise ValueError(f"{name}: {str(device)!r} was requested but "
                             f"only {torch.cuda.device_count()} CUDA "
                             f"device(s) exist")
    elif dev.type == 'mps':
        mps = getattr(torch.backends, 'mps', None)
        if mps is None or not mps.is_available():
            raise ValueError(f"{name}: 'mps' was requested but MPS is not "
                             f"available on this machine")
    return dev


def move_to(obj: Any, device: DeviceLike, non_blocking: bool = False) -> Any:
    r"""Returns :obj:`obj` with every tensor on :obj:`device`: tensors,
    objects with a ``.to(device)`` method (PyG :class:`Data`, models' data
    containers), and dicts, lists, tuples and dataclasses of them. Anything
    else is returned as it is. The input is not changed (a PyG
    :class:`Data` is moved as a shallow copy)."""
    device = torch.device(device)
    if isinstance(obj, torch.Tensor):
        return obj.to(device, non_blocking=non_blocking)
    if isinstance(obj, dict):
        return type(obj)((k, move_to(v, device, non_blocking))
                         for k, v in obj.items())
    if isinstance(obj, (list, tuple)) and not hasattr(obj, '_fields'):
        return type(obj)(move_to(v, device, non_blocking) for v in obj)
    if hasattr(obj, 'stores') and hasattr(obj, 'apply'):
        # PyG Data/HeteroData.to() works in place: move a shallow copy
        obj = copy.copy(obj)
    to = getattr(obj, 'to', None)
    if callable(to) and not isinstance(obj, type) and \
            not isinstance(obj, torch.nn.Module):
        try:
            return to(device, non_blocking=non_blocking)
        except TypeError:  # a .to() without non_blocking
            return to(device)
    if dataclasses.is_dataclass(obj) and not isinstance(obj, type):
        changes = {f.name: move_to(getattr(obj, f.name), device,
                                   non_blocking)
                   for f in dataclasses.fields(obj) if f.init}
        return dataclasses.replace(obj, **changes)
    return obj


def module_device(module: torch.nn.Module) -> Optional[torch.device]:
    r"""The device of :obj:`module`'s first parameter or buffer
    (:obj:`None` if it has neither)."""
    for t in module.parameters():
        return t.device
    for t in module.buffers():
        return t.device
    return None


def data_device(obj: Any) -> Optional[torch.device]:
    r"""The device of the first tensor found in :obj:`obj` (a tensor, a PyG
    :class:`Data`, a dict/list/tuple or dataclass of them), or
    :obj:`None`."""
    if isinstance(obj, torch.Tensor):
        return obj.device
    stores = getattr(obj, 'stores', None)
    if stores is not None:  # PyG Data / HeteroData
        for store in stores:
            for v in store.values():
                d = data_device(v)
                if d is not None:
                    return d
        return None
    if isinstance(obj, dict):
        items = obj.values()
    elif isinstance(obj, (list, tuple)):
        items = obj
    elif dataclasses.is_dataclass(obj) and not isinstance(obj, type):
        items = (getattr(obj, f.name) for f in dataclasses.fields(obj))
    else:
        return None
    for v in items:
        d = data_device(v)
        if d is not None:
            return d
    return None


def _same(a: torch.device, b: torch.device) -> bool:
    if a.type != b.type:
        return False
    if a.type != 'cuda':
        return True
    ia = a.index if a.index is not None else torch.cuda.current_device()
    ib = b.index if b.index is not None else torch.cuda.current_device()
    return ia == ib


def place(model: Optional[torch.nn.Module], data: Any,
          device: Optional[DeviceLike] = None, name: str = 'data'):
    r"""The device rule of every ``fit_*`` entry point.

    With :obj:`device` given, moves :obj:`model` and :obj:`data` there.
    Without it, the model's device is used and :obj:`data` must already be
    on it.

    Returns:
        ``(model, data, device)``.

    Raises:
        ValueError: If, without :obj:`device`, the data and the model are on
            different devices (the message names both).
    """
    if device is not None:
        dev = resolve_device(device)
        if model is not None:
            model = model.to(dev)
        return model, move_to(data, dev), dev
    mdev = module_device(model) if model is not None else None
    ddev = data_device(data)
    if mdev is not None and ddev is not None and not _same(mdev, ddev):
        raise ValueError(f"'{name}' is on {ddev} but the model is on "
                         f"{mdev}; move one of them or pass device=... to "
                         f"move both")
    dev = mdev or ddev or torch.device('cpu')
    return model, data, dev
