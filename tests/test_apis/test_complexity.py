"""FLOP counts: the LR student costs about s^2 of the same model at HR."""
import pytest
from mmengine.config import Config

from conftest import CONFIGS, TINY_LR, TINY_RKD
from rkd_mm.apis.complexity import distiller_complexity, model_complexity


def test_flops_scale_with_the_square_of_the_resolution():
    cfg = Config.fromfile(TINY_LR)
    # the x0.5 LR-only model counts at its LR view of the image
    hr = model_complexity(cfg, shape=(128, 128))
    lr = model_complexity(cfg, shape=(64, 64))
    assert hr['input_shape'] == (3, 64, 64)
    assert lr['input_shape'] == (3, 32, 32)
    assert hr['params'] == lr['params']
    assert hr['flops'] / lr['flops'] == pytest.approx(4.0, rel=0.1)


def test_distiller_reports_teacher_at_hr_and_student_at_lr():
    cfg = Config.fromfile(f'{CONFIGS}/tiny_rkd.py')
    both = distiller_complexity(cfg, shape=(64, 64))
    assert both['teacher']['input_shape'] == (3, 64, 64)
    assert both['student']['input_shape'] == (3, 32, 32)
    assert both['teacher']['flops'] > both['student']['flops']
    assert model_complexity(cfg, shape=(64, 64)) == both['student']


def test_a_distiller_is_recognised_by_its_class_not_its_name():
    import torch

    from rkd_mm.models.algorithms import ResolutionAwareDistiller
    from rkd_mm.registry import MODELS
    from rkd_mm.apis.complexity import is_distiller

    @MODELS.register_module(name='MyTeacherStudent', force=True)
    class MyTeacherStudent(ResolutionAwareDistiller):
        pass

    assert is_distiller(Config(dict(
        model=dict(type='rkd_mm.MyTeacherStudent'))))
    assert is_distiller(Config(dict(model=dict(type=MyTeacherStudent))))
    assert is_distiller(Config.fromfile(TINY_RKD))
    assert not is_distiller(Config.fromfile(TINY_LR))
    # a plain model whose name merely contains the word is not one

    @MODELS.register_module(name='DistillerFreeNet', force=True)
    class DistillerFreeNet(torch.nn.Module):
        pass

    assert not is_distiller(Config(dict(
        model=dict(type='rkd_mm.DistillerFreeNet'))))
