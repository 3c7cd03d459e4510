"""The teacher of a distiller: its config, its checkpoint, and the checks
that it fits the student (same task, same normalisation)."""
import glob
import os
import os.path as osp
from typing import Optional, Tuple

from mmengine.config import Config
from mmengine.logging import print_log
from mmengine.runner.checkpoint import load_state_dict
from torch import nn

from rkd_mm.utils.checkpoint import (fit_state_dict, read_checkpoint,
                                     state_dict_of)

__all__ = ['resolve_model_cfg', 'resolve_checkpoint', 'load_teacher_weights',
           'check_same_normalisation', 'TeacherNotFoundError',
           'check_teacher_ckpt']


class TeacherNotFoundError(FileNotFoundError):
    """``teacher_ckpt`` names no file."""


def resolve_model_cfg(cfg: dict, role: str) -> Tuple[dict, Optional[str]]:
    """A model config, or ``dict(cfg_path=FILE, **overrides)`` resolved to
    that file's ``model`` with the overrides merged in (as ``_base_``
    merges), and the file's path (None for an inline config).

    The file's model is the one its own run builds: a top-level
    ``data_preprocessor`` (mmpretrain's convention) goes into a model that
    has none, as MMEngine's Runner hands it over.
    """
    cfg = dict(cfg)
    path = cfg.pop('cfg_path', None)
    if path is None:
        return cfg, None
    if not osp.isfile(path):
        raise FileNotFoundError(f'{role}.cfg_path {path} not found.')
    file_cfg = Config.fromfile(path)
    model = file_cfg.model
    if model.get('data_preprocessor') is None and \
            file_cfg.get('data_preprocessor') is not None:
        model.data_preprocessor = file_cfg.data_preprocessor
    merged = Config(dict(model=model))
    merged.merge_from_dict(dict(model=cfg))  # recursive, like _base_
    return merged.model, path


def resolve_checkpoint(path: Optional[str]) -> Optional[str]:
    """A checkpoint path; a glob pattern becomes its newest match (or stays
    as it is when nothing matches, so the error names the pattern)."""
    if path is None or not glob.has_magic(path):
        return path
    matches = glob.glob(path)
    return max(matches, key=osp.getmtime) if matches else path


def _not_found(ckpt: str, how: str) -> str:
    """What to do about a missing teacher checkpoint: the absolute path
    searched, the working directory, and trained checkpoints elsewhere."""
    where = osp.abspath(ckpt)
    found = sorted(glob.glob(osp.join('work_dirs', '*', 'best_*.pth')))
    elsewhere = (' Checkpoints under work_dirs/: ' + ', '.join(found[:6]) +
                 (' ...' if len(found) > 6 else '') + '.') if found else ''
    return (f'teacher_ckpt {ckpt} not found (searched {where}; working '
            f'directory {os.getcwd()}; a relative teacher_ckpt is relative '
            f'to it).{elsewhere} Train the teacher first with {how}, or '
            'point model.teacher_ckpt at its checkpoint (e.g. --cfg-options '
            'model.teacher_ckpt=PATH).')


def _how(teacher_config: Optional[str]) -> str:
    return (f'`python tools/train.py {teacher_config}`' if teacher_config
            else 'tools/train.py on the teacher config')


def check_teacher_ckpt(ckpt: str,
                       teacher_config: Optional[str] = None) -> str:
    """The checkpoint a ``teacher_ckpt`` (path or glob) resolves to.

    ``tools/train.py`` asks this before it builds the Runner, so a missing
    teacher stops a run before hundreds of log lines, as the distiller's
    build would after them.

    Raises:
        TeacherNotFoundError: Nothing there; the message names the absolute
            path searched, the working directory, the checkpoints found
            under ``work_dirs/`` and the command that trains the teacher.
    """
    path = resolve_checkpoint(ckpt)
    if not osp.exists(path):
        raise TeacherNotFoundError(_not_found(path, _how(teacher_config)))
    return path


def load_teacher_weights(teacher: nn.Module, ckpt: str,
                         teacher_config: Optional[str] = None) -> None:
    """Load the teacher's weights strictly; explain every failure.

    The file is read safely (:func:`rkd_mm.utils.checkpoint.read_checkpoint`:
    no code from it runs). A distiller's checkpoint is accepted too (e.g. a
    x0.5 student as the teacher assistant of a x0.25 one): its student
    becomes the teacher.

    Args:
        teacher: The teacher model.
        ckpt: Its checkpoint (a path, already resolved from a pattern).
        teacher_config: The teacher's config path, for the messages.

    Raises:
        TeacherNotFoundError: ``ckpt`` does not exist.
    """
    how = _how(teacher_config)
    check_teacher_ckpt(ckpt, teacher_config)
    state = state_dict_of(read_checkpoint(ckpt, map_location='cpu'),
                          f'teacher_ckpt {ckpt}')
    state, note = fit_state_dict(
        teacher, state, f'teacher_ckpt {ckpt}', 'the teacher model',
        ship_hint=False,
        hint=f'It must be a checkpoint of the teacher config ({how}).')
    if note:  # a distiller's checkpoint: its student teaches
        print_log(note, logger='current')
    load_state_dict(teacher, state, strict=True)
    print_log(f'teacher weights: {osp.abspath(ckpt)}', logger='current')


def _normalisation(pre: nn.Module) -> tuple:
    """What decides how a preprocessor maps grey levels to inputs."""
    mean, std = getattr(pre, 'mean', None), getattr(pre, 'std', None)
    flip = (getattr(pre, 'channel_conversion', None),
            getattr(pre, 'to_rgb', None))
    return (None if mean is None else mean.flatten().tolist(),
            None if std is None else std.flatten().tolist(), flip)


def check_same_normalisation(hr_pre: nn.Module, pre: nn.Module,
                             role: str) -> None:
    """The LR view is made from the HR batch: the distiller's HR
    preprocessor and the ``role``'s must normalise alike.

    Raises:
        ValueError: Naming both and where each is set.
    """
    if _normalisation(hr_pre) != _normalisation(pre):
        raise ValueError(
            f'The {role}\'s data preprocessor normalises otherwise than the '
            'distiller\'s HR one (mean/std/channel order '
            f'{_normalisation(pre)} vs {_normalisation(hr_pre)}). The HR one '
            'is model.data_preprocessor of the distiller config, or its '
            'top-level data_preprocessor (which the Runner hands to the '
            'model; mmpretrain configs inherit one from their dataset '
            'base), else the teacher\'s. The LR view is made from the HR '
            f'batch: give the distiller\'s HR preprocessor, the teacher and '
            f'the {role} the same mean, std and channel order.')
