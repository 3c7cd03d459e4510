"""AutocastOptimWrapper: bf16 autocast on the CPU, for every train_step."""
import copy

import pytest
import torch
from mmengine.config import Config
from mmengine.optim import OptimWrapper, OptimWrapperDict
from mmengine.registry import init_default_scope
from torch import nn

from conftest import TINY_LR, TINY_RKD, seg_batch
from rkd_mm.engine.optimizers import (AutocastOptimWrapper,
                                      MultiOptimWrapperConstructor,
                                      amp_optim_wrapper_cfg)
from rkd_mm.registry import MODELS, OPTIM_WRAPPERS


@pytest.fixture(autouse=True)
def mmseg_scope():
    init_default_scope('mmseg')


def _wrapper(model, **kwargs):
    return AutocastOptimWrapper(
        optimizer=torch.optim.SGD(model.parameters(), lr=0.1), **kwargs)


def test_forward_runs_in_bf16_and_the_update_in_fp32():
    torch.manual_seed(0)
    model = nn.Linear(4, 3)
    wrapper = _wrapper(model)
    x = torch.randn(5, 4)
    with wrapper.optim_context(model):
        out = model(x)
    assert out.dtype == torch.bfloat16
    assert model(x).dtype == torch.float32  # only inside the context
    before = model.weight.detach().clone()
    wrapper.update_params(out.float().pow(2).mean())
    assert model.weight.dtype == torch.float32
    assert model.weight.grad is None or model.weight.grad.dtype == \
        torch.float32
    assert not torch.equal(before, model.weight.detach())


def test_state_dict_is_a_plain_optim_wrappers():
    """A run can be resumed with or without --amp: no loss scaler."""
    model = nn.Linear(4, 3)
    amp = _wrapper(model)
    amp.update_params(model(torch.randn(2, 4)).sum())
    state = amp.state_dict()
    assert 'loss_scaler' not in state
    plain = OptimWrapper(torch.optim.SGD(model.parameters(), lr=0.1))
    plain.load_state_dict(copy.deepcopy(state))
    assert plain.state_dict()['param_groups'] == state['param_groups']


def test_bad_arguments_are_explained():
    model = nn.Linear(2, 2)
    with pytest.raises(ValueError, match="only bfloat16.*AmpOptimWrapper"):
        _wrapper(model, dtype='float16')
    with pytest.raises(ValueError, match="device_type='tpu'"):
        _wrapper(model, device_type='tpu')


def test_registered_in_rkd_mm():
    model = nn.Linear(2, 2)
    wrapper = OPTIM_WRAPPERS.build(
        dict(type='rkd_mm.AutocastOptimWrapper', dtype='bfloat16',
             optimizer=torch.optim.SGD(model.parameters(), lr=0.1)))
    assert isinstance(wrapper, AutocastOptimWrapper)


def test_amp_cfg_switches_one_wrapper_or_every_part():
    single = dict(type='OptimWrapper', optimizer=dict(type='SGD', lr=0.1))
    cpu = amp_optim_wrapper_cfg(single, cuda=False)
    assert cpu['type'] == 'rkd_mm.AutocastOptimWrapper'
    assert cpu['dtype'] == 'bfloat16'
    assert single['type'] == 'OptimWrapper'  # the input is not changed
    gpu = amp_optim_wrapper_cfg(single, cuda=True)
    assert gpu['type'] == 'AmpOptimWrapper' and 'dtype' not in gpu
    # per-part wrappers (the distiller): each part, no keys at the top
    parts = Config.fromfile(TINY_RKD).optim_wrapper
    switched = amp_optim_wrapper_cfg(parts, cuda=False)
    assert set(switched) == set(parts)
    for name in ('student', 'discriminator'):
        assert switched[name]['type'] == 'rkd_mm.AutocastOptimWrapper'
    assert switched['student']['clip_grad'] == parts['student']['clip_grad']


def test_amp_cfg_keeps_mixed_precision_and_refuses_other_wrappers():
    amp = dict(type='AmpOptimWrapper', loss_scale=512.0)
    assert amp_optim_wrapper_cfg(amp, cuda=False) == amp
    with pytest.raises(ValueError, match=r"optim_wrapper.student.type="
                       r"'ApexOptimWrapper'"):
        amp_optim_wrapper_cfg(
            dict(constructor='rkd_mm.MultiOptimWrapperConstructor',
                 student=dict(type='ApexOptimWrapper')), cuda=False)


def _bf16_convs(model):
    """Record the output dtype of every conv while the model runs."""
    seen = []
    for m in model.modules():
        if isinstance(m, nn.Conv2d):
            m.register_forward_hook(lambda m, i, o: seen.append(o.dtype))
    return seen


def test_mmseg_train_step_runs_in_bf16():
    torch.manual_seed(0)
    cfg = Config.fromfile(TINY_LR)
    model = MODELS.build(cfg.model)
    seen = _bf16_convs(model)
    wrapper = OPTIM_WRAPPERS.build(
        amp_optim_wrapper_cfg(
            dict(type='OptimWrapper',
                 optimizer=torch.optim.AdamW(model.parameters(), lr=1e-3)),
            cuda=False))
    model.train()
    log_vars = model.train_step(seg_batch(size=32), wrapper)
    assert seen and set(seen) == {torch.bfloat16}
    assert torch.isfinite(log_vars['loss'])
    assert all(p.dtype == torch.float32 for p in model.parameters())


def test_distiller_parts_run_in_bf16(tiny_teacher_ckpt):
    torch.manual_seed(0)
    cfg = Config.fromfile(TINY_RKD)
    cfg.model.teacher_ckpt = tiny_teacher_ckpt
    model = MODELS.build(cfg.model)
    student_convs = _bf16_convs(model.student)
    teacher_convs = _bf16_convs(model.teacher)
    parts = amp_optim_wrapper_cfg(cfg.optim_wrapper, cuda=False)
    wrappers = MultiOptimWrapperConstructor(
        {k: v for k, v in parts.items() if k != 'constructor'})(model)
    assert isinstance(wrappers, OptimWrapperDict)
    assert all(isinstance(w, AutocastOptimWrapper)
               for w in wrappers.values())
    before = {k: v.detach().clone()
              for k, v in model.distiller.discriminator.named_parameters()}
    model.train()
    log_vars = model.train_step(seg_batch(), wrappers)
    assert set(student_convs) == {torch.bfloat16}
    # the frozen teacher's outputs are the targets (and the teacher cache's
    # entries, shared with fp32 runs): they stay float32
    assert set(teacher_convs) == {torch.float32}
    for key in ('student.decode.loss_ce', 'distill.loss_kd',
                'disc.loss_real', 'distill.loss_adv'):
        assert torch.isfinite(log_vars[key]), key
    assert any(not torch.equal(before[k], v.detach())
               for k, v in model.distiller.discriminator.named_parameters())
