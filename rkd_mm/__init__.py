"""rkd_mm: Resolution-aware knowledge distillation on OpenMMLab.

"RKD" here means *Resolution-aware* Knowledge Distillation (an HR teacher
distilled into an LR student), not Park et al.'s Relational KD.

Importing the package applies the environment shims of
:mod:`rkd_mm.utils.compat` (each a no-op where it is not needed).
"""
from .utils import compat as _compat
from .version import __version__

_compat.apply_all()

__all__ = ['__version__']
