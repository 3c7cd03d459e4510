"""model.teacher_ckpt is read safely and strictly."""
import os.path as osp

import pytest
import torch
from mmengine.config import Config
from mmengine.registry import init_default_scope

from conftest import TINY_RKD
from rkd_mm.registry import MODELS
from rkd_mm.utils.checkpoint import (UNSAFE_LOAD_ENV, CheckpointMismatchError,
                                     NotACheckpointError,
                                     UnsafeCheckpointError)


class _Payload:
    """Unpickling it creates ``marker``."""

    def __init__(self, marker: str) -> None:
        self.marker = marker

    def __reduce__(self):
        return (open, (self.marker, 'w'))


def build(teacher_ckpt: str):
    init_default_scope('mmseg')
    cfg = Config.fromfile(TINY_RKD)
    cfg.model.teacher_ckpt = teacher_ckpt
    return MODELS.build(cfg.model)


def test_crafted_teacher_checkpoint_is_refused(tiny_teacher_ckpt, tmp_path,
                                               monkeypatch):
    monkeypatch.delenv(UNSAFE_LOAD_ENV, raising=False)
    marker = str(tmp_path / 'marker')
    checkpoint = torch.load(tiny_teacher_ckpt, weights_only=True)
    checkpoint['meta']['note'] = _Payload(marker)
    path = str(tmp_path / 'teacher.pth')
    torch.save(checkpoint, path)
    with pytest.raises(UnsafeCheckpointError, match='teacher.pth was refused'):
        build(path)
    assert not osp.exists(marker)


def test_teacher_checkpoint_that_is_no_checkpoint_is_named(tmp_path):
    path = str(tmp_path / 'teacher.pth')
    with open(path, 'w') as f:
        f.write('not weights\n')
    with pytest.raises(NotACheckpointError,
                       match='teacher.pth is not a PyTorch checkpoint'):
        build(path)


def test_empty_teacher_checkpoint_names_the_teacher_config(tmp_path):
    path = str(tmp_path / 'teacher.pth')
    torch.save(dict(state_dict={}), path)
    with pytest.raises(CheckpointMismatchError) as info:
        build(path)
    message = str(info.value)
    assert 'teacher_ckpt' in message and 'teacher.pth' in message
    assert 'holds no weights' in message
    assert 'python tools/train.py' in message and 'tiny_fpn_r50_hr' in message
