"""ResumeCheckHook: a resumed checkpoint must be this config's."""
from types import SimpleNamespace

import pytest
import torch
from mmengine.optim import OptimWrapper, OptimWrapperDict
from torch import nn

from rkd_mm.engine.hooks import ResumeCheckHook
from rkd_mm.registry import HOOKS


class Student(nn.Module):

    def __init__(self, width=4):
        super().__init__()
        self.conv = nn.Conv2d(3, width, 1)
        self.bn = nn.BatchNorm2d(width)


class Distiller(nn.Module):

    def __init__(self):
        super().__init__()
        self.student = Student()
        self.discriminator = nn.Linear(4, 1)


def _wrapper(module):
    return OptimWrapper(torch.optim.SGD(module.parameters(), lr=0.1))


def runner_for(model, optim_wrapper):
    return SimpleNamespace(model=model, optim_wrapper=optim_wrapper)


def checkpoint_of(model, optim_wrapper):
    return dict(state_dict=model.state_dict(),
                optimizer=optim_wrapper.state_dict())


def distiller_runner():
    model = Distiller()
    wrappers = OptimWrapperDict(student=_wrapper(model.student),
                                discriminator=_wrapper(model.discriminator))
    return runner_for(model, wrappers)


def test_the_runs_own_checkpoint_passes():
    runner = distiller_runner()
    ckpt = checkpoint_of(runner.model, runner.optim_wrapper)
    # DDP's prefix and the frozen teacher (never saved) are not differences
    ckpt['state_dict'] = {f'module.{k}': v
                          for k, v in ckpt['state_dict'].items()}
    ckpt['state_dict']['teacher.conv.weight'] = torch.zeros(1)
    ResumeCheckHook('x.pth').after_load_checkpoint(runner, ckpt)


def test_an_lr_only_checkpoint_in_a_distiller_run_is_refused():
    student = Student()
    lr_only = checkpoint_of(student, _wrapper(student))
    with pytest.raises(ValueError) as err:
        ResumeCheckHook('work/iter_8.pth').after_load_checkpoint(
            distiller_runner(), lr_only)
    msg = str(err.value)
    assert msg.startswith("--resume: work/iter_8.pth does not fit this "
                          "config's model (Distiller)")
    assert "lacks 9 of the model's 9 weights" in msg
    assert 'student.bn.bias' in msg
    assert 'holds 7 weights the model does not have' in msg
    assert "one optimizer; this config has optimizers ['discriminator', " \
        "'student']" in msg
    assert 'another --work-dir' in msg


def test_a_shape_difference_is_named():
    runner = runner_for(Student(width=4), None)
    other = Student(width=8)
    with pytest.raises(ValueError, match=r'weights differ in shape \(bn\.bias'
                       r' \(8,\) vs \(4,\)'):
        ResumeCheckHook().after_load_checkpoint(
            runner, dict(state_dict=other.state_dict()))


def test_registered():
    assert isinstance(HOOKS.build(dict(type='rkd_mm.ResumeCheckHook')),
                      ResumeCheckHook)
