"""StrictLoadHook: load_from must fit the model; a distiller's checkpoint
becomes its student in a plain model."""
from types import SimpleNamespace

import pytest
import torch
from mmengine.config import Config
from torch import nn

from rkd_mm.engine.hooks import StrictLoadHook
from rkd_mm.utils.checkpoint import CheckpointMismatchError


class _Distiller(nn.Module):

    def __init__(self) -> None:
        super().__init__()
        self.student = nn.Conv2d(3, 4, 1)
        self.discriminator = nn.Linear(4, 1)


def _runner(model: nn.Module, resume: bool = False):
    notes = []
    return SimpleNamespace(
        model=model,
        cfg=Config(dict(load_from='ckpt.pth', resume=resume)),
        logger=SimpleNamespace(info=notes.append),
        notes=notes)


def test_fitting_checkpoint_is_left_as_it_is():
    model = nn.Conv2d(3, 4, 1)
    checkpoint = dict(state_dict=model.state_dict(), meta=dict(iter=2))
    before = dict(checkpoint)
    runner = _runner(model)
    StrictLoadHook().after_load_checkpoint(runner, checkpoint)
    assert checkpoint == before and not runner.notes


def test_distiller_checkpoint_is_swapped_for_its_student_in_place():
    distiller = _Distiller()
    model = nn.Conv2d(3, 4, 1)
    checkpoint = dict(state_dict=distiller.state_dict())
    runner = _runner(model)
    StrictLoadHook().after_load_checkpoint(runner, checkpoint)
    assert set(checkpoint['state_dict']) == {'weight', 'bias'}
    assert torch.equal(checkpoint['state_dict']['weight'],
                       distiller.student.weight)
    assert 'ckpt.pth is a distiller checkpoint' in runner.notes[0]
    # a bare state dict (no 'state_dict' key) is swapped too
    bare = dict(distiller.state_dict())
    StrictLoadHook().after_load_checkpoint(_runner(model), bare)
    assert set(bare) == {'weight', 'bias'}


def test_mismatch_stops_before_loading():
    model = nn.Conv2d(3, 4, 1)
    checkpoint = dict(state_dict=dict(weight=torch.zeros(8, 3, 1, 1)))
    with pytest.raises(CheckpointMismatchError,
                       match=r'ckpt.pth does not fit the model: 1 missing '
                       r'key \(bias\), 1 shape mismatch'):
        StrictLoadHook().after_load_checkpoint(_runner(model), checkpoint)


def test_resume_is_left_to_resume_check_hook():
    model = nn.Conv2d(3, 4, 1)
    checkpoint = dict(state_dict={})
    StrictLoadHook().after_load_checkpoint(_runner(model, resume=True),
                                           checkpoint)
    assert checkpoint == dict(state_dict={})
