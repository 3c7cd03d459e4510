"""The lowest floor: helpers that import nothing from the rest of rkd_mm.

Environment shims (:mod:`.compat`), safe checkpoint reading
(:mod:`.checkpoint`), the LR view's primitives (:mod:`.lr_view`), private
random streams (:mod:`.rng`), the machine a run's numerics come from
(:mod:`.machine`), ``--cfg-options`` checks (:mod:`.cfg_options`) and work
dirs (:mod:`.work_dir`). What needs models, datasets or the engine lives a
floor up, in :mod:`rkd_mm.apis`.
"""
from .compat import applied_shims, apply_all

__all__ = ['applied_shims', 'apply_all']
