"""Read checkpoints safely; load them into a model strictly.

Every place rkd_mm loads weights for use goes through this module:
MMEngine's local checkpoint loader (``load_from``, ``--resume``,
``tools/test.py``, ``init_cfg=Pretrained``; registered by
:mod:`rkd_mm.utils.compat`), ``model.teacher_ckpt``, the analysis tools and
``tools/model_converters/extract_student.py``.

**Safe reading** (:func:`read_checkpoint`). ``torch.load(weights_only=True)``
rebuilds tensors, numbers, strings and containers, and nothing else: an
unknown class or function in the pickle is refused instead of called.
MMEngine's training checkpoints also pickle a few objects of their own (the
message hub's ``HistoryBuffer`` with its numpy arrays, numpy scalars, and
``builtins.getattr`` for the buffer's statistics methods), so rkd_mm allows
exactly those (:data:`SAFE_GLOBALS`; :func:`_safe_globals` says why each
cannot run code). Anything else stops with :class:`UnsafeCheckpointError`,
naming the file and the offending global. Full unpickling, which can run any
code, is an explicit opt-in: ``RKD_MM_UNSAFE_LOAD=1`` in the environment, for
files you trust; each file loaded that way is named in an
:class:`UnsafeLoadWarning`.

**Strict loading** (:func:`fit_state_dict`, :func:`load_weights`). A state
dict must fit the model exactly: same keys, same shapes. Otherwise
:class:`CheckpointMismatchError` says how many and which keys are missing or
unexpected and which shapes differ. One exception is made: a distiller's
checkpoint (keys ``student.*``, ...) given to a plain model that its student
fits is loaded as that student, and the log says so.
"""
import os
import os.path as osp
import pickle
import re
import threading
import warnings
import zipfile
from collections import OrderedDict
from dataclasses import dataclass, field
from typing import Any, Callable, Dict, List, Mapping, Optional, Tuple

import numpy as np
import torch
from mmengine.logging import HistoryBuffer
from torch import nn

__all__ = [
    'UNSAFE_LOAD_ENV', 'SAFE_GLOBALS', 'CheckpointError',
    'CheckpointNotFoundError', 'NotACheckpointError', 'UnsafeCheckpointError',
    'CheckpointMismatchError', 'UnsafeLoadWarning', 'StateDictDiff',
    'check_checkpoint_file', 'read_checkpoint', 'state_dict_of',
    'split_student_state', 'is_distiller_state', 'compare_state_dict',
    'fit_state_dict', 'load_weights'
]

#: Environment variable that allows full (code-running) unpickling.
UNSAFE_LOAD_ENV = 'RKD_MM_UNSAFE_LOAD'
#: MMEngine strips this prefix (left by DDP wrappers) before loading.
_WRAPPER_PREFIX = re.compile(r'^module\.')


# --------------------------------------------------------------------------
# errors
# --------------------------------------------------------------------------
class CheckpointError(Exception):
    """Base of the errors below: a tool prints its message and stops."""


class CheckpointNotFoundError(CheckpointError, FileNotFoundError):
    """The checkpoint path does not exist."""


class NotACheckpointError(CheckpointError, ValueError):
    """The path exists but holds no PyTorch checkpoint (a directory, an
    empty, truncated or text file, ...)."""


class UnsafeCheckpointError(CheckpointError, pickle.UnpicklingError):
    """The checkpoint pickles something outside :data:`SAFE_GLOBALS`."""


class CheckpointMismatchError(CheckpointError, RuntimeError):
    """The checkpoint's weights do not fit the model."""


class UnsafeLoadWarning(UserWarning):
    """A checkpoint was loaded with full unpickling (``RKD_MM_UNSAFE_LOAD``).
    """


# --------------------------------------------------------------------------
# the allow-list
# --------------------------------------------------------------------------
#: The statistics methods ``HistoryBuffer`` registers for itself; MMEngine
#: pickles them as ``getattr(HistoryBuffer, name)``.
_HISTORY_BUFFER_METHODS = ('min', 'max', 'current', 'mean')


def _history_buffer_method(owner: Any, name: str) -> Callable:
    """``builtins.getattr`` as MMEngine's checkpoints use it, and no more.

    A ``HistoryBuffer`` pickles its statistics methods (a dict of
    functions) and pickle writes a method as ``getattr(HistoryBuffer,
    'mean')``. A free ``getattr`` would hand an attacker every attribute of
    every allowed object (``np.ndarray.tofile``, ``torch.Tensor`` methods,
    ...); this one resolves only those four methods of that one class.
    """
    if owner in (HistoryBuffer, _CheckedHistoryBuffer) and \
            name in _HISTORY_BUFFER_METHODS:
        return getattr(HistoryBuffer, name)
    raise pickle.UnpicklingError(
        f'getattr({getattr(owner, "__qualname__", type(owner).__name__)}, '
        f'{name!r}) is not allowed: only the statistics methods '
        f'{_HISTORY_BUFFER_METHODS} of MMEngine\'s HistoryBuffer are.')


class _CheckedHistoryBuffer(HistoryBuffer):
    """``HistoryBuffer`` as a checkpoint rebuilds it.

    ``HistoryBuffer.__setstate__`` copies the pickled statistics methods
    into a dict of the *class*, which every buffer of the process then
    calls. The state is checked first (only the buffer's own four methods),
    then the object becomes a plain ``HistoryBuffer``: nothing downstream
    (and no later checkpoint) sees this class.
    """

    def __setstate__(self, state: dict) -> None:
        methods = state.get('statistics_methods', {})
        for name, method in dict(methods).items():
            if name not in _HISTORY_BUFFER_METHODS or \
                    method is not getattr(HistoryBuffer, name):
                raise pickle.UnpicklingError(
                    f'HistoryBuffer statistics method {name!r} = {method!r} '
                    'is not allowed: only its own '
                    f'{_HISTORY_BUFFER_METHODS} are.')
        self.__class__ = HistoryBuffer
        HistoryBuffer.__setstate__(self, state)


def _numpy_multiarray() -> Any:
    """``numpy.core.multiarray`` (numpy 1) / ``numpy._core.multiarray``
    (numpy 2, where ``numpy.core`` warns on access)."""
    if int(np.__version__.split('.')[0]) >= 2:
        from numpy._core import multiarray
    else:
        from numpy.core import multiarray
    return multiarray


def _safe_globals() -> List[Tuple[Any, str]]:
    """``(object, name as pickled)`` for each global a checkpoint may use
    beyond what ``weights_only=True`` allows by itself.

    Why each one cannot run code:

    * ``HistoryBuffer`` (MMEngine's message hub): instantiated without
      ``__init__`` and filled from its pickled ``__dict__``; its state is
      checked by :class:`_CheckedHistoryBuffer`.
    * ``builtins.getattr``: bound to :func:`_history_buffer_method`, which
      resolves four methods of ``HistoryBuffer`` and refuses all else.
    * ``numpy...multiarray._reconstruct`` + ``numpy.ndarray``: an empty
      array of the given class (the unpickler only offers allowed classes:
      ``ndarray``); ``ndarray.__setstate__`` then copies raw bytes, or, for
      ``dtype=object``, takes items already rebuilt by this same unpickler.
    * ``numpy.dtype``: parses a type code such as ``'f8'``; the concrete
      class it returns (``numpy.dtypes.Float64DType``, ...; booleans and
      numbers only) must be allowed too for its ``__setstate__`` (byte
      order) to run.
    * ``numpy...multiarray.scalar``: a numpy scalar from a dtype and raw
      bytes (``np.float64`` metrics, ``np.int64`` counters).

    numpy 2 pickles ``numpy._core.multiarray.*``, numpy 1
    ``numpy.core.multiarray.*``: both names are listed, so a checkpoint
    written under either loads under both.
    """
    multiarray = _numpy_multiarray()
    entries: List[Tuple[Any, str]] = [
        (_CheckedHistoryBuffer,
         'mmengine.logging.history_buffer.HistoryBuffer'),
        (_history_buffer_method, 'builtins.getattr'),
        (np.ndarray, 'numpy.ndarray'),
        (np.dtype, 'numpy.dtype'),
    ]
    codes = np.typecodes['AllInteger'] + np.typecodes['AllFloat'] + '?'
    for dtype_class in dict.fromkeys(type(np.dtype(c)) for c in codes):
        entries.append((dtype_class, f'numpy.dtypes.{dtype_class.__name__}'))
    for module in ('numpy.core.multiarray', 'numpy._core.multiarray'):
        entries.append((multiarray._reconstruct, f'{module}._reconstruct'))
        entries.append((multiarray.scalar, f'{module}.scalar'))
    return entries


_SAFE_GLOBALS_LOCK = threading.Lock()

#: The pickled names :func:`read_checkpoint` allows beyond torch's own.
SAFE_GLOBALS: Tuple[str, ...] = tuple(name for _, name in _safe_globals())


# --------------------------------------------------------------------------
# reading
# --------------------------------------------------------------------------
def check_checkpoint_file(path: str) -> None:
    """Refuse a path that cannot be a checkpoint, before unpickling.

    Cheap (reads 8 bytes): tools call it before building a model, so that a
    wrong path stops at once.

    Raises:
        CheckpointNotFoundError: ``path`` does not exist.
        NotACheckpointError: It is a directory, an empty file, a truncated
            zip file or starts like neither a zip archive nor a pickle.
    """
    if not osp.exists(path):
        raise CheckpointNotFoundError(f'checkpoint {path} not found.')
    if osp.isdir(path):
        found = sorted((n for n in os.listdir(path) if n.endswith('.pth')),
                       key=lambda n: osp.getmtime(osp.join(path, n)))
        hint = (f' (newest here: {osp.join(path, found[-1])})'
                if found else ' (it holds no .pth file)')
        raise NotACheckpointError(
            f'{path} is a directory, not a checkpoint: pass a .pth file '
            f'written by tools/train.py or torch.save{hint}.')
    size = osp.getsize(path)
    if size == 0:
        raise NotACheckpointError(
            f'{path} is empty (0 bytes): expected a PyTorch checkpoint '
            '(.pth) written by tools/train.py or torch.save. It was probably '
            'cut off while being written or copied: copy or save it again.')
    with open(path, 'rb') as f:
        head = f.read(8)
    if head.startswith(b'PK\x03\x04'):  # torch.save's zip format
        if not zipfile.is_zipfile(path):
            raise NotACheckpointError(
                f'{path} is a truncated or corrupted checkpoint: it starts '
                'like a PyTorch (zip) checkpoint but its end is missing '
                f'({size} bytes). Copy or save it again.')
    elif head[:1] != b'\x80':  # legacy torch.save: a pickle, protocol >= 2
        raise NotACheckpointError(
            f'{path} is not a PyTorch checkpoint: it starts with {head!r}, '
            'where a checkpoint written by tools/train.py or torch.save is a '
            'zip archive (starts with PK) or a pickle.')


def _refusal_reason(message: str) -> str:
    """The useful part of torch's weights-only error message."""
    for pattern in (r'WeightsUnpickler error:\s*(.+?)\s*(?:\n\n|$)',
                    r'trusted source\.\s*\n+(.+?)\s*(?:\n\n|$)'):
        match = re.search(pattern, message, re.S)
        if match:
            return match.group(1).strip()
    return message.strip()


def _unsafe_allowed() -> bool:
    return os.environ.get(UNSAFE_LOAD_ENV, '0').strip() == '1'


def read_checkpoint(filename: str, map_location: Any = None) -> Any:
    """Read a local checkpoint file without running code from it.

    Args:
        filename: Path of a file written by ``torch.save`` (``~`` is
            expanded).
        map_location: As for :func:`torch.load`.

    Returns:
        The unpickled object (for MMEngine's files a dict with
        ``state_dict``, ``meta``, ``message_hub``, ``optimizer``, ...).

    Raises:
        CheckpointNotFoundError: ``filename`` does not exist.
        NotACheckpointError: It is a directory, or an empty, truncated or
            otherwise unreadable file.
        UnsafeCheckpointError: It pickles a global outside
            :data:`SAFE_GLOBALS` and ``RKD_MM_UNSAFE_LOAD=1`` is not set.
    """
    path = osp.expanduser(filename)
    check_checkpoint_file(path)
    try:
        # safe_globals edits one process-wide list and empties it on exit:
        # two threads reading at once (the runner's parallel jobs) would
        # take each other's allow-list away mid-read
        with _SAFE_GLOBALS_LOCK, \
                torch.serialization.safe_globals(_safe_globals()):
            return torch.load(
                path, map_location=map_location, weights_only=True)
    except pickle.UnpicklingError as err:
        reason = _refusal_reason(str(err))
        offending = re.search(r'GLOBAL ([\w.]+)', reason)
        what = (f'it pickles `{offending.group(1)}`, which a checkpoint has '
                'no need for' if offending else
                f'the safe reader cannot rebuild it ({reason})')
        if not _unsafe_allowed():
            raise UnsafeCheckpointError(
                f'{path} was refused: {what}, and full unpickling could run '
                'code. rkd_mm reads tensors, numbers, strings, containers, '
                'numpy arrays and MMEngine\'s HistoryBuffer '
                '(rkd_mm.utils.checkpoint.SAFE_GLOBALS), nothing else. If '
                'you trust this file, rerun the command with '
                f'{UNSAFE_LOAD_ENV}=1 set to load it with full pickle '
                f'(e.g. `{UNSAFE_LOAD_ENV}=1 python tools/test.py CONFIG '
                'CKPT`).') from None
        warnings.warn(
            f'{UNSAFE_LOAD_ENV}=1: loading {path} with full pickle, which '
            f'can run code ({what}). Do this only for files you trust.',
            UnsafeLoadWarning, stacklevel=2)
    except (RuntimeError, EOFError, KeyError, IndexError, ValueError,
            OverflowError, UnicodeDecodeError, zipfile.BadZipFile) as err:
        raise NotACheckpointError(
            f'{path} could not be read as a PyTorch checkpoint '
            f'({type(err).__name__}: {err}). Expected a .pth file written '
            'by tools/train.py or torch.save; it may be truncated or '
            'corrupted: copy or save it again.') from err
    try:
        return torch.load(path, map_location=map_location, weights_only=False)
    except (RuntimeError, EOFError, KeyError, IndexError, ValueError,
            OverflowError, UnicodeDecodeError, pickle.UnpicklingError) as err:
        raise NotACheckpointError(
            f'{path} could not be read as a PyTorch checkpoint '
            f'({type(err).__name__}: {err}).') from err


# --------------------------------------------------------------------------
# fitting a state dict to a model
# --------------------------------------------------------------------------
def state_dict_of(checkpoint: Any, source: str) -> Dict[str, Any]:
    """The weights of a checkpoint: its ``state_dict``, or the checkpoint
    itself when it is a bare state dict (as MMEngine reads it)."""
    if not isinstance(checkpoint, Mapping):
        raise NotACheckpointError(
            f'{source} holds a {type(checkpoint).__name__}, not a '
            'checkpoint (a dict with a "state_dict" of tensors).')
    state = checkpoint.get('state_dict', checkpoint)
    if not isinstance(state, Mapping):
        raise NotACheckpointError(
            f'{source}: its "state_dict" is a {type(state).__name__}, not a '
            'dict of tensors.')
    return state


def is_distiller_state(state: Mapping[str, Any]) -> bool:
    """Whether ``state`` is a distiller's (it holds ``student.*`` keys)."""
    return any(k.startswith('student.') for k in state)


def split_student_state(state_dict: Mapping[str, torch.Tensor]
                        ) -> Tuple[Dict[str, torch.Tensor], List[str]]:
    """The student's own weights (``student.`` prefix removed) and the other
    keys of a distiller state dict (connectors, discriminator)."""
    student: Dict[str, torch.Tensor] = OrderedDict()
    other: List[str] = []
    for key, value in state_dict.items():
        if key.startswith('student.'):
            student[key[len('student.'):]] = value
        else:
            other.append(key)
    return student, other


@dataclass
class StateDictDiff:
    """How a state dict differs from a model's.

    Attributes:
        missing: Keys the model needs and the state dict lacks.
        unexpected: Keys of the state dict the model does not have.
        shapes: ``'key: checkpoint (a, b) vs model (c, d)'`` per key whose
            shape differs.
    """
    missing: List[str] = field(default_factory=list)
    unexpected: List[str] = field(default_factory=list)
    shapes: List[str] = field(default_factory=list)

    def __bool__(self) -> bool:
        return bool(self.missing or self.unexpected or self.shapes)

    def describe(self, limit: int = 3) -> str:
        """E.g. ``'12 missing keys (a, b, c, ...), 1 shape mismatch (k:
        checkpoint (3,) vs model (5,))'``; the first ``limit`` of each."""
        parts = []
        for what, keys in (('missing key', self.missing),
                           ('unexpected key', self.unexpected),
                           ('shape mismatch', self.shapes)):
            if keys:
                shown = ', '.join(keys[:limit]) + (
                    ', ...' if len(keys) > limit else '')
                plural = 'es' if what.endswith('h') else 's'
                parts.append(f'{len(keys)} {what}'
                             f'{plural if len(keys) != 1 else ""} ({shown})')
        return ', '.join(parts) or 'no difference'


def _model_tensors(model: nn.Module) -> Tuple[List[str], Dict[str, Any]]:
    """The keys a strict load requires (``model.state_dict()``, i.e. after
    the model's own state-dict hooks: a distiller leaves its teacher out)
    and the shapes of every tensor a load may set."""
    required = model.state_dict()
    shapes = {k: tuple(v.shape) for k, v in model.named_parameters()}
    shapes.update({k: tuple(v.shape) for k, v in model.named_buffers()})
    shapes.update({k: tuple(v.shape) for k, v in required.items()
                   if hasattr(v, 'shape')})
    return list(required), shapes


def compare_state_dict(model: nn.Module,
                       state: Mapping[str, Any]) -> StateDictDiff:
    """Compare ``state`` with what ``model.load_state_dict(strict=True)``
    accepts (keys after MMEngine's ``module.`` prefix removal)."""
    required, shapes = _model_tensors(model)
    keys = [_WRAPPER_PREFIX.sub('', k) for k in state]
    values = dict(zip(keys, state.values()))
    present = set(keys)
    diff = StateDictDiff(
        missing=[k for k in required if k not in present],
        unexpected=[k for k in keys if k not in shapes])
    for key in keys:
        if key in shapes and hasattr(values[key], 'shape') and \
                tuple(values[key].shape) != shapes[key]:
            diff.shapes.append(
                f'{key}: checkpoint {tuple(values[key].shape)} vs model '
                f'{shapes[key]}')
    return diff


def fit_state_dict(model: nn.Module,
                   state: Mapping[str, Any],
                   source: str,
                   target: str = 'the model',
                   allow_student: bool = True,
                   ship_hint: bool = True,
                   hint: Optional[str] = None
                   ) -> Tuple[Mapping[str, Any], Optional[str]]:
    """Check that ``state`` fits ``model`` exactly; explain when it does not.

    Args:
        model: The model to load into.
        state: The checkpoint's state dict.
        source: How to name the checkpoint in messages (its path).
        target: How to name the model, e.g. ``'the model of CONFIG'``.
        allow_student: Load a distiller checkpoint into a plain model that
            its student fits (False when resuming: the optimizer state
            would not fit).
        ship_hint: End that note with the ``extract_student.py`` command.
        hint: What the checkpoint must be, said last in an error (default:
            a checkpoint of this model, written with the same config).

    Returns:
        ``(state, note)``: the state dict to load (``state`` itself, or the
        distiller's student) and, when it is the student, a note for the
        log; otherwise ``None``.

    Raises:
        CheckpointMismatchError: Naming the missing and unexpected keys and
            the shape mismatches, and what to pass instead.
    """
    diff = compare_state_dict(model, state)
    if not diff:
        return state, None
    model_is_distiller = any(
        k.startswith('student.') for k in model.state_dict())
    ckpt_is_distiller = is_distiller_state(state)
    student_diff = None
    if ckpt_is_distiller and not model_is_distiller:
        student, other = split_student_state(state)
        student_diff = compare_state_dict(model, student)
        if not student_diff and allow_student:
            dropped = sorted({k.split('.')[0] for k in other})
            note = (
                f'{source} is a distiller checkpoint: loading its student '
                f'({len(student)} tensors) into {target}'
                + (f'; {", ".join(dropped)} (training only) left out'
                   if dropped else '') + '.')
            if ship_hint:
                note += (' To ship the student alone: python '
                         'tools/model_converters/extract_student.py '
                         f'{source} student.pth')
            return student, note
    if not state:
        why = 'It holds no weights (its state_dict is empty).'
    elif student_diff is not None and not student_diff:
        why = ('It is a distiller checkpoint whose student fits: to resume, '
               'use the distiller config it was trained with; to test or use '
               'the student, pass it to tools/test.py (which loads the '
               'student) or extract it: python '
               f'tools/model_converters/extract_student.py {source} '
               'student.pth')
    elif student_diff is not None:
        why = ('It is a distiller checkpoint, and its student does not fit '
               f'either ({student_diff.describe()}): pass the distiller '
               'config it was trained with, or the LR config of the same '
               'student.')
    elif model_is_distiller and not ckpt_is_distiller:
        why = ('It is a plain model checkpoint (no "student." keys, e.g. an '
               'extracted student or a teacher) but the config builds a '
               'distiller: pass the checkpoint the distiller\'s training '
               'wrote, or test this model with its own config '
               '(configs/baselines/ for a student, configs/teachers/ for a '
               'teacher).')
    else:
        why = hint or ('It must be a checkpoint of this model, written by '
                       'tools/train.py with the same config.')
        hint = None
    message = ' '.join(
        part for part in (f'{source} does not fit {target}: '
                          f'{diff.describe()}.', why, hint) if part)
    raise CheckpointMismatchError(message)


def load_weights(model: nn.Module,
                 filename: str,
                 target: str = 'the model',
                 logger: Any = 'current') -> Any:
    """Read ``filename`` safely and load its weights into ``model``
    strictly (a distiller checkpoint into a plain model: its student).

    Args:
        model: The model.
        filename: The checkpoint.
        target: How to name the model in messages.
        logger: Where the note about a distiller's student goes
            (MMEngine's ``print_log`` logger).

    Returns:
        The checkpoint as read.

    Raises:
        CheckpointError: See :func:`read_checkpoint` and
            :func:`fit_state_dict`.
    """
    from mmengine.logging import print_log
    checkpoint = read_checkpoint(filename, map_location='cpu')
    state = state_dict_of(checkpoint, filename)
    state, note = fit_state_dict(model, state, filename, target)
    if note:
        print_log(note, logger=logger)
    state = OrderedDict(
        (_WRAPPER_PREFIX.sub('', k), v) for k, v in state.items())
    model.load_state_dict(state, strict=True)
    return checkpoint
