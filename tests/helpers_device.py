r"""A device audit for the training steps of every method (CI-runnable
without a GPU).

:class:`DeviceAudit` is a :class:`torch.overrides.TorchFunctionMode` that
looks at every torch call made *directly from pyg_ext code* while it is
active and records

* tensors created by a factory (``torch.zeros``, ``torch.arange``,
  ``torch.tensor``, ...) without an explicit ``device=``: on a GPU they
  would land on the CPU (``x.new_zeros`` / ``*_like`` follow their input
  and are fine);
* host reads that force a device sync: ``.item()``, ``.tolist()``,
  ``.numpy()``, ``.cpu()``, ``int(t)``, ``float(t)``, ``bool(t)`` (also the
  implicit one of ``if t:``);
* tensor arguments on another device than the expected one.

:func:`audit_steps` patches :meth:`Trainer.phase` so that every training
``step`` of a ``fit_*`` call runs under the audit (evaluation is not
audited: it reads metrics by design).
"""
import contextlib
import sys
from pathlib import Path

import torch
from torch.overrides import TorchFunctionMode

import pyg_ext

PKG = str(Path(pyg_ext.__file__).resolve().parent)
# CPU by design: the temporal sampler (its batches are moved to the device)
ALLOWED = (str(Path(PKG) / 'sampler'), )

FACTORIES = {
    'zeros', 'ones', 'empty', 'full', 'arange', 'range', 'linspace',
    'logspace', 'eye', 'tensor', 'rand', 'randn', 'randint', 'randperm',
    'empty_strided', 'sparse_coo_tensor', 'sparse_csr_tensor',
    'scalar_tensor', 'tril_indices', 'triu_indices', 'from_numpy',
    'as_tensor',
}
HOST_READS = {'item', 'tolist', 'numpy', 'cpu', '__int__', '__float__',
              '__bool__', '__index__'}


class DeviceAudit(TorchFunctionMode):
    def __init__(self, device=None):
        super().__init__()
        self.device = None if device is None else torch.device(device)
        self.violations = []

    def _where(self):
        f = sys._getframe(2)
        path = f.f_code.co_filename
        if not path.startswith(PKG) or path.startswith(ALLOWED):
            return None
        return f'{Path(path).relative_to(Path(PKG).parent)}:{f.f_lineno}'

    def __torch_function__(self, func, types, args=(), kwargs=None):
        kwargs = kwargs or {}
        name = getattr(func, '__name__', str(func))
        where = self._where()
        if where is not None:
            if name in FACTORIES and 'device' not in kwargs and not (
                    name == 'as_tensor' and args
                    and isinstance(args[0], torch.Tensor)):
                self.violations.append(f'{where}: torch.{name} without '
                                       f'device=')
            elif name in HOST_READS:
                self.violations.append(f'{where}: host read {name}()')
            if self.device is not None:
                for a in list(args) + list(kwargs.values()):
                    if isinstance(a, torch.Tensor) and a.dim() > 0 and \
                            a.device.type != self.device.type:
                        self.violations.append(
                            f'{where}: {name} got a tensor on {a.device}, '
                            f'expected {self.device}')
                        break
        return func(*args, **kwargs)


@contextlib.contextmanager
def audit_steps(monkeypatch, device=None):
    r"""Runs every training step of every :meth:`Trainer.phase` under one
    :class:`DeviceAudit`; yields it."""
    from pyg_ext.utils.training import Trainer
    audit = DeviceAudit(device)
    original = Trainer.phase

    def phase(self, name, step, *args, **kwargs):
        def audited(epoch):
            with audit:
                return step(epoch)
        return original(self, name, audited, *args, **kwargs)

    monkeypatch.setattr(Trainer, 'phase', phase)
    yield audit
