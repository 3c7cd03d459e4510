"""NonFiniteLossHook: stop at the first NaN/inf loss, keep the checkpoints."""
import os.path as osp
from types import SimpleNamespace

import pytest
import torch
from mmengine.config import Config
from mmengine.optim import OptimWrapper
from mmengine.registry import init_default_scope
from torch import nn

from conftest import TINY_LR, TINY_RKD, seg_batch
from rkd_mm.engine.hooks import NonFiniteLossError, NonFiniteLossHook
from rkd_mm.engine.optimizers import (AutocastOptimWrapper,
                                      MultiOptimWrapperConstructor)
from rkd_mm.registry import HOOKS, MODELS


@pytest.fixture(autouse=True)
def mmseg_scope():
    init_default_scope('mmseg')


def fake_runner(work_dir, it=6, wrapper=None):
    return SimpleNamespace(work_dir=str(work_dir), iter=it,
                           optim_wrapper=wrapper)


def checkpoint_in(work_dir, name='iter_6.pth'):
    path = osp.join(str(work_dir), name)
    open(path, 'wb').close()
    with open(osp.join(str(work_dir), 'last_checkpoint'), 'w') as f:
        f.write(path)
    return path


def test_finite_losses_and_non_loss_values_pass(tmp_path):
    hook = NonFiniteLossHook()
    hook.after_train_iter(fake_runner(tmp_path), 0, outputs=dict(
        loss=torch.tensor(1.0), **{'decode.loss_ce': torch.tensor(0.5)}))
    # accuracy is no loss: NaN when every pixel is ignored
    hook.after_train_iter(fake_runner(tmp_path), 0, outputs={
        'decode.acc_seg': torch.tensor(float('nan')),
        'decode.loss_ce': torch.tensor(0.5)
    })
    hook.after_train_iter(fake_runner(tmp_path), 0, outputs=None)


def test_names_the_term_the_iteration_and_the_checkpoint(tmp_path):
    last = checkpoint_in(tmp_path)
    outputs = {
        'loss': torch.tensor(float('nan')),
        'student.decode.loss_ce': torch.tensor(1.2),
        'distill.loss_kd': torch.tensor(float('nan')),
        'disc.loss_real': torch.tensor(float('inf')),
    }
    with pytest.raises(NonFiniteLossError) as err:
        NonFiniteLossHook().after_train_iter(
            fake_runner(tmp_path, it=6), 6, outputs=outputs)
    msg = str(err.value)
    assert msg.startswith('Iteration 7: non-finite loss distill.loss_kd=nan'
                          ', disc.loss_real=inf.')
    assert 'student.decode.loss_ce' not in msg and 'loss=nan' not in msg
    assert f'the newest good one is {last}' in msg and '--resume' in msg
    assert '--amp' not in msg  # not a mixed-precision run


def test_an_infinite_total_alone_is_named(tmp_path):
    with pytest.raises(NonFiniteLossError,
                       match='non-finite loss loss=inf.*No checkpoint had '
                       'been written yet.*start again'):
        NonFiniteLossHook().after_train_iter(
            fake_runner(tmp_path, it=0), 0,
            outputs={'loss': torch.tensor(float('inf')),
                     'decode.loss_ce': torch.tensor(1e38)})


def test_suggests_switching_amp_off_in_a_mixed_precision_run(tmp_path):
    model = nn.Linear(2, 2)
    wrapper = AutocastOptimWrapper(
        optimizer=torch.optim.SGD(model.parameters(), lr=0.1))
    with pytest.raises(NonFiniteLossError, match='without --amp'):
        NonFiniteLossHook().after_train_iter(
            fake_runner(tmp_path, wrapper=wrapper), 0,
            outputs={'decode.loss_ce': float('nan')})


def test_a_checkpoint_with_nan_weights_is_not_written(tmp_path):
    last = checkpoint_in(tmp_path, 'iter_4.pth')
    hook = NonFiniteLossHook()
    good = dict(meta=dict(iter=6), state_dict=dict(
        w=torch.ones(2), n=torch.tensor(3)))
    hook.before_save_checkpoint(fake_runner(tmp_path), good)
    bad = dict(meta=dict(iter=6), state_dict=dict(
        w=torch.tensor([1.0, float('nan')]), n=torch.tensor(3)))
    with pytest.raises(NonFiniteLossError,
                       match=f'After iteration 6 the weight w holds NaN/inf'
                       f'.*newest good one is {last}'):
        hook.before_save_checkpoint(fake_runner(tmp_path), bad)


def test_registered_and_runs_before_the_checkpoint_hook():
    from mmengine.hooks import CheckpointHook
    from mmengine.runner import get_priority
    hook = HOOKS.build(dict(type='rkd_mm.NonFiniteLossHook'))
    assert get_priority(hook.priority) < get_priority(CheckpointHook.priority)


def test_mmseg_train_step_outputs_name_the_decode_term(tmp_path):
    cfg = Config.fromfile(TINY_LR)
    cfg.model.decode_head.loss_decode[0].loss_weight = float('nan')
    model = MODELS.build(cfg.model).train()
    wrapper = OptimWrapper(torch.optim.SGD(model.parameters(), lr=0.01))
    outputs = model.train_step(seg_batch(size=32), wrapper)
    with pytest.raises(NonFiniteLossError,
                       match=r'non-finite loss decode\.loss_ce=nan\.'):
        NonFiniteLossHook().after_train_iter(fake_runner(tmp_path), 0,
                                             outputs=outputs)


def test_distiller_train_step_outputs_name_the_distill_term(
        tmp_path, tiny_teacher_ckpt):
    cfg = Config.fromfile(TINY_RKD)
    cfg.model.teacher_ckpt = tiny_teacher_ckpt
    cfg.model.distiller.distill_losses.loss_kd.loss_weight = float('nan')
    model = MODELS.build(cfg.model).train()
    wrappers = MultiOptimWrapperConstructor(
        {k: v for k, v in cfg.optim_wrapper.items()
         if k != 'constructor'})(model)
    outputs = model.train_step(seg_batch(size=64), wrappers)
    with pytest.raises(NonFiniteLossError,
                       match=r'non-finite loss distill\.loss_kd=nan\.'):
        NonFiniteLossHook().after_train_iter(fake_runner(tmp_path), 0,
                                             outputs=outputs)
