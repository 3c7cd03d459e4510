"""Environment shims that let the pinned OpenMMLab stack run on a CPU box.

Each shim below fixes one concrete failure of the dependency set pinned in
``requirements/runtime.txt`` (torch 2.13 CPU, torchvision 0.28 from PyPI,
mmcv-lite 2.1, mmengine 0.10.7). Each one checks first whether the real thing
works and is a no-op if it does, so the module is harmless on a machine with
full mmcv, a matching torchvision or a GPU. :func:`apply_all` is called once by
``rkd_mm/__init__.py``; every shim is idempotent.

The exception is checkpoint loading (shim 3), which is also a security
policy and therefore always applies: local checkpoints are read with
``torch.load(weights_only=True)`` and a short allow-list
(:mod:`rkd_mm.utils.checkpoint`), never with full pickle unless
``RKD_MM_UNSAFE_LOAD=1`` is set for files the user trusts.

The docstring of each shim says what fails without it and when it can go.
"""
import atexit
import importlib
import importlib.machinery
import importlib.util
import os
import sys
import types
from typing import Any, Callable, List

_APPLIED: List[str] = []


def applied_shims() -> List[str]:
    """Names of the shims that changed something in this process."""
    return list(_APPLIED)


# --------------------------------------------------------------------------
# 1. torchvision from PyPI beside the CPU build of torch
# --------------------------------------------------------------------------
def patch_torchvision_ops() -> bool:
    """Define ``torchvision::nms``/``qnms`` schemas when torchvision's ``_C``
    cannot load.

    Fails without it: PyPI's torchvision 0.28.0 wheel links ``_C.so`` against
    ``libtorch_cuda.so``. Beside the CPU build of torch the library does not
    load, and ``import torchvision`` then dies in
    ``torchvision/_meta_registrations.py`` with ``RuntimeError: operator
    torchvision::nms does not exist``. mmpretrain and MMEngine's Runner import
    torchvision, so nothing runs.

    What it does: before torchvision is first imported, try to load its ``_C``
    exactly as torchvision would; only if that fails, declare the two operator
    schemas that the meta registrations need. torchvision's compiled ops
    (nms, roi_align, ...) stay unavailable and raise torchvision's own error;
    rkd_mm does not use them.

    Delete when: torchvision publishes CPU wheels on PyPI that match the torch
    pin, or the pin moves to a torch/torchvision pair built together.

    Returns:
        bool: True if the schemas were defined.
    """
    if 'torchvision' in sys.modules:
        return False  # too late (or already fine): never touch a live import
    spec = importlib.util.find_spec('torchvision')
    if spec is None or not spec.submodule_search_locations:
        return False
    import torch

    folder = list(spec.submodule_search_locations)[0]
    suffixes = importlib.machinery.EXTENSION_SUFFIXES
    candidates = [os.path.join(folder, '_C' + s) for s in suffixes]
    lib = next((c for c in candidates if os.path.isfile(c)), None)
    if lib is not None:
        try:
            torch.ops.load_library(lib)
            return False  # torchvision's own ops work: nothing to do
        except (OSError, RuntimeError):
            pass
    try:
        torch.ops.torchvision.nms  # noqa: B018 (defined elsewhere already?)
        return False
    except (AttributeError, RuntimeError):
        pass
    library = torch.library.Library('torchvision', 'DEF')  # noqa: TOR901
    library.define('nms(Tensor dets, Tensor scores, float iou_threshold) '
                   '-> Tensor')
    library.define('qnms(Tensor dets, Tensor scores, float iou_threshold) '
                   '-> Tensor')
    # Keep the Library object alive: dropping it would undefine the schemas.
    globals()['_TORCHVISION_LIBRARY'] = library
    _APPLIED.append('torchvision_ops')
    return True


# --------------------------------------------------------------------------
# 2. mmcv-lite: no compiled ``mmcv._ext``
# --------------------------------------------------------------------------
class _MissingMMCVOps(types.ModuleType):
    """Stand-in for ``mmcv._ext``: any op is a function that raises."""

    def __getattr__(self, name: str) -> Callable[..., Any]:
        if name.startswith('__'):
            raise AttributeError(name)

        def _unavailable(*args: Any, **kwargs: Any) -> Any:
            raise RuntimeError(
                f'mmcv op `{name}` needs compiled mmcv ops (mmcv._ext), but '
                'mmcv-lite is installed. Use a model without it (FCN, ASPP, '
                'PSP, UPer and FPN heads need none) or install the full mmcv '
                'built for your torch: `pip install setuptools<82 && pip '
                'install --no-build-isolation mmcv==2.1.0` (compiles, about '
                '8 min).')

        _unavailable.__name__ = name
        return _unavailable


def patch_mmcv_ext() -> bool:
    """Register a placeholder ``mmcv._ext`` when mmcv-lite is installed.

    Fails without it: ``mmseg/utils/mask_classification.py`` imports
    ``mmcv.ops`` unconditionally and every ``mmcv.ops`` module loads the
    compiled ``mmcv._ext`` at import time, so ``import mmseg.models`` raises
    ``ModuleNotFoundError: No module named 'mmcv._ext'``.

    What it does: puts a module object with a real ``__spec__`` into
    ``sys.modules`` (MMEngine's ``pkgutil.find_loader('mmcv._ext')`` needs the
    spec). Attribute access returns a function, so ``mmcv.ops`` imports; an
    op that needs compiled code (PSAMask, deformable conv, roi_align, nms)
    raises a RuntimeError naming the op and the fix when it is *called*.

    Delete when: the pin moves to a full mmcv wheel (PyPI has none for 2.x)
    or mmseg stops importing ``mmcv.ops`` at package import.

    Returns:
        bool: True if the placeholder was installed.
    """
    if 'mmcv._ext' in sys.modules:
        return False
    try:
        if importlib.util.find_spec('mmcv') is None:
            return False
        if importlib.util.find_spec('mmcv._ext') is not None:
            return False  # full mmcv: the real thing works
    except (ImportError, ValueError):
        return False
    module = _MissingMMCVOps('mmcv._ext')
    module.__spec__ = importlib.machinery.ModuleSpec(
        'mmcv._ext', loader=None, origin='rkd_mm.utils.compat placeholder')
    module.__file__ = __file__
    sys.modules['mmcv._ext'] = module
    _APPLIED.append('mmcv_ext')
    return True


# --------------------------------------------------------------------------
# 3. MMEngine checkpoints under torch >= 2.6: safe by default
# --------------------------------------------------------------------------
def _load_local_checkpoint(filename: str, map_location: Any = None) -> Any:
    """MMEngine's local loader, reading without running code.

    Delegates to :func:`rkd_mm.utils.checkpoint.read_checkpoint`:
    ``torch.load(weights_only=True)`` plus a short allow-list of exactly what
    MMEngine's own training checkpoints pickle (its ``HistoryBuffer``, numpy
    arrays and scalars, and ``builtins.getattr`` restricted to the buffer's
    four statistics methods). A checkpoint that pickles anything else is
    refused with :class:`~rkd_mm.utils.checkpoint.UnsafeCheckpointError`
    naming the file and the offending global; a directory, an empty,
    truncated or text file gets
    :class:`~rkd_mm.utils.checkpoint.NotACheckpointError`.

    Explicit opt-in to full unpickling (which can run any code in the file):
    ``RKD_MM_UNSAFE_LOAD=1`` in the environment. Each file then loaded with
    full pickle is named in an ``UnsafeLoadWarning``.
    """
    from .checkpoint import read_checkpoint
    return read_checkpoint(filename, map_location=map_location)


def patch_checkpoint_loading() -> bool:
    """Make MMEngine's local checkpoint loader safe and torch-2.6 proof.

    Fails without it: torch 2.6 made ``torch.load(weights_only=True)`` the
    default; MMEngine 0.10.7 calls ``torch.load`` without the argument, so
    ``--resume``, ``load_from``, ``load_checkpoint`` and
    ``init_cfg=dict(type='Pretrained')`` die on MMEngine's own files with
    ``Unsupported global: mmengine.logging.history_buffer.HistoryBuffer``
    (upstream mmengine issue #1655). Falling back to
    ``weights_only=False``, the usual workaround, lets a crafted checkpoint
    run code through every one of those paths.

    What it does: re-registers MMEngine's loader for local paths (the empty
    prefix) with :func:`_load_local_checkpoint` (safe reading with a short
    allow-list; full pickle only with ``RKD_MM_UNSAFE_LOAD=1``). URLs keep
    MMEngine's loaders (``torch.hub`` loads those with ``weights_only=True``
    under torch >= 2.6).

    Delete when: MMEngine loads its own checkpoints with ``weights_only=True``
    (upstream PR #1650 allow-lists its globals) and the pin moves to that
    release; keep the allow-list's checks (``rkd_mm.utils.checkpoint``).

    Returns:
        bool: True if the loader was replaced.
    """
    from mmengine.runner.checkpoint import CheckpointLoader

    if CheckpointLoader._schemes.get('') is _load_local_checkpoint:
        return False
    CheckpointLoader.register_scheme(
        prefixes='', loader=_load_local_checkpoint, force=True)
    _APPLIED.append('checkpoint_loading')
    return True


# --------------------------------------------------------------------------
# 4. MMEngine DDP on CPU (gloo)
# --------------------------------------------------------------------------
def patch_cpu_distributed() -> bool:
    """Let ``--launcher pytorch`` (torchrun) train on CPU with gloo.

    Fails without it: MMEngine's ``_init_dist_pytorch`` always calls
    ``torch.cuda.set_device`` (``Torch not compiled with CUDA enabled``) and
    its model wrappers pass ``device_ids=[LOCAL_RANK]`` to
    ``DistributedDataParallel``, which DDP rejects for CPU modules.

    What it does, only when CUDA is unavailable: initialises the process
    group with gloo (whatever backend the config asked for) without touching
    CUDA, destroys it at exit (avoids a sporadic SIGABRT in gloo's
    teardown), and drops ``device_ids`` in ``MMDistributedDataParallel``
    (``MMSeparateDistributedDataParallel`` builds its parts from it). Use BN,
    not SyncBN, on CPU.

    Delete when: MMEngine supports CPU DDP itself.

    Returns:
        bool: True if the patch was installed.
    """
    import torch

    if torch.cuda.is_available():
        return False
    import mmengine.dist.utils as dist_utils
    from mmengine.model.wrappers import distributed as mm_ddp

    if getattr(dist_utils._init_dist_pytorch, '_rkd_mm_cpu', False):
        return False
    import torch.distributed as torch_dist

    def _init_dist_pytorch_cpu(backend: str = 'gloo',
                               init_backend: str = 'torch',
                               **kwargs: Any) -> None:
        if init_backend != 'torch':
            raise ValueError(
                f'init_backend={init_backend!r} is not supported on CPU; use '
                "'torch' (gloo).")
        if not torch_dist.is_initialized():
            torch_dist.init_process_group(
                backend='gloo',
                rank=int(os.environ['RANK']),
                world_size=int(os.environ['WORLD_SIZE']),
                **kwargs)
            atexit.register(_destroy_process_group)

    def _destroy_process_group() -> None:
        if torch_dist.is_available() and torch_dist.is_initialized():
            try:
                torch_dist.destroy_process_group()
            except Exception:  # noqa: BLE001 (exit path, best effort)
                pass

    _init_dist_pytorch_cpu._rkd_mm_cpu = True  # type: ignore[attr-defined]
    dist_utils._init_dist_pytorch = _init_dist_pytorch_cpu

    original_init = mm_ddp.MMDistributedDataParallel.__init__

    def _ddp_init(self: Any, module: Any, *args: Any, **kwargs: Any) -> None:
        kwargs.pop('device_ids', None)
        kwargs.pop('output_device', None)
        original_init(self, module, *args, **kwargs)

    mm_ddp.MMDistributedDataParallel.__init__ = _ddp_init
    _APPLIED.append('cpu_distributed')
    return True


# --------------------------------------------------------------------------
# 5. mmseg's class-weighted cross-entropy on labels with ignored pixels
# --------------------------------------------------------------------------
def patch_mmseg_weighted_ce() -> bool:
    """Let mmseg's ``CrossEntropyLoss(class_weight=...)`` see ignored pixels.

    Fails without it: mmsegmentation 1.2.2's ``cross_entropy`` computes its
    averaging factor as ``torch.stack([class_weight[cls] for cls in
    label])``, which indexes the class weights with the ignore label (255)
    and dies with ``IndexError: index 255 is out of bounds``
    (open-mmlab/mmsegmentation#3492, #3734, #3831). Any mask with ignored
    pixels, or padding by ``seg_pad_val=255``, crashes training with our
    class-weighted configs.

    What it does, only if the installed function fails that way on a probe:
    wraps it so that, for a class-weighted mean without an explicit
    ``avg_factor``, the factor is computed safely (ignored pixels count 0
    with ``avg_non_ignore=True``, 1 otherwise, as mmseg counts them without
    class weights) and passed on; everything else is mmseg's own code.

    Delete when: the mmsegmentation pin carries a fix for those issues.

    Returns:
        bool: True if the wrapper was installed.
    """
    import torch

    try:
        from mmseg.models.losses import cross_entropy_loss as ce_mod
    except ImportError:
        return False
    original = ce_mod.cross_entropy
    if getattr(original, '_rkd_mm_safe', False):
        return False
    try:
        original(torch.zeros(1, 2, 1, 1), torch.full((1, 1, 1), 255),
                 class_weight=torch.ones(2), ignore_index=255,
                 avg_non_ignore=True)
        return False  # the installed mmseg handles it
    except IndexError:
        pass

    def cross_entropy(pred, label, weight=None, class_weight=None,
                      reduction='mean', avg_factor=None, ignore_index=-100,
                      avg_non_ignore=False):
        if class_weight is not None and avg_factor is None and \
                reduction == 'mean':
            ignored = label == ignore_index
            label_weights = class_weight[torch.where(
                ignored, torch.zeros_like(label), label)]
            label_weights = torch.where(
                ignored, torch.full_like(label_weights,
                                         0.0 if avg_non_ignore else 1.0),
                label_weights)
            avg_factor = label_weights.sum()
        return original(pred, label, weight=weight,
                        class_weight=class_weight, reduction=reduction,
                        avg_factor=avg_factor, ignore_index=ignore_index,
                        avg_non_ignore=avg_non_ignore)

    cross_entropy._rkd_mm_safe = True  # type: ignore[attr-defined]
    # CrossEntropyLoss looks the function up when it is built
    ce_mod.cross_entropy = cross_entropy
    _APPLIED.append('mmseg_weighted_ce')
    return True


def apply_all() -> List[str]:
    """Apply every shim that the current environment needs.

    Returns:
        list[str]: Names of the shims applied so far in this process.
    """
    patch_torchvision_ops()
    patch_mmcv_ext()
    patch_checkpoint_loading()
    patch_cpu_distributed()
    patch_mmseg_weighted_ce()
    return applied_shims()
