"""The baseline KD configs: one real training step each, same protocol as
RKD."""
import os.path as osp

import pytest
import torch
from mmengine.config import Config
from mmengine.logging import MessageHub
from mmengine.optim import OptimWrapperDict, build_optim_wrapper
from mmengine.registry import PARAM_SCHEDULERS, init_default_scope
from mmengine.structures import PixelData
from mmseg.structures import SegDataSample

from rkd_mm.registry import MODELS
from rkd_mm.apis.lr_scale import lr_scales

ROOT = osp.join(osp.dirname(__file__), '..', '..', 'configs')
SCALES = {'x0.5': 0.5, 'x0.25': 0.25}
SUFFIX = {'x0.5': '', 'x0.25': '_x0.25'}
# method -> the distill losses its configs log
METHODS = {
    'kd': {'loss_kd'},
    'fitnet': {'loss_fitnet'},
    'at': {'loss_at2', 'loss_at3', 'loss_at4'},
    'relkd': {'loss_relkd'},
    'cwd': {'loss_cwd'},
    'dkd': {'loss_dkd'},
}
CASES = [(m, s) for m in METHODS for s in SCALES]
# the fields of the distiller that make the protocol (everything but the
# distillation terms, which are model.distiller)
PROTOCOL = ('type', 'teacher', 'student', 'teacher_ckpt', 'teacher_config',
            'distill_warmup_iters', 'data_preprocessor', 'teacher_cache')


def load(method, scale):
    return Config.fromfile(osp.join(
        ROOT, 'kd_baselines',
        f'defect_seg_r50_to_r18_{method}_lr{SUFFIX[scale]}.py'))


def rkd_config(scale):
    return Config.fromfile(osp.join(
        ROOT, 'rkd', f'defect_seg_r50_to_r18_lr{SUFFIX[scale]}.py'))


@pytest.fixture(autouse=True)
def mmseg_scope():
    init_default_scope('mmseg')


@pytest.fixture
def full_weight_iteration():
    """Past the 100-iteration warm-up, so the losses count in full."""
    hub = MessageHub.get_current_instance()
    old = hub.get_info('iter')
    hub.update_info('iter', 1000)
    yield
    hub.update_info('iter', 0 if old is None else old)


def hr_batch(n=2, size=128, seed=0):
    g = torch.Generator().manual_seed(seed)
    inputs, samples = [], []
    for _ in range(n):
        inputs.append(torch.randint(0, 256, (3, size, size), generator=g,
                                    dtype=torch.uint8))
        label = torch.randint(0, 5, (1, size, size), generator=g)
        label[:, :8] = 255  # a band of ignored pixels
        sample = SegDataSample()
        sample.gt_sem_seg = PixelData(data=label)
        sample.set_metainfo(dict(img_shape=(size, size),
                                 ori_shape=(size, size)))
        samples.append(sample)
    return dict(inputs=inputs, data_samples=samples)


@pytest.mark.parametrize('method,scale', CASES)
def test_baseline_follows_the_rkd_protocol(method, scale):
    cfg, rkd = load(method, scale), rkd_config(scale)
    for key in rkd.keys():
        if key not in ('model', 'optim_wrapper'):
            assert cfg[key] == rkd[key], key
    for key in PROTOCOL:
        assert cfg.model.get(key) == rkd.model.get(key), key
    assert lr_scales(cfg) == lr_scales(rkd)
    assert lr_scales(cfg).train == (SCALES[scale], )
    assert cfg.optim_wrapper.student == rkd.optim_wrapper.student
    assert cfg.model.distiller.get('adversarial') is None
    assert set(cfg.model.distiller.distill_losses) == METHODS[method]


@pytest.mark.parametrize('scale', SCALES)
def test_at_weighs_every_stage_with_the_authors_beta(scale):
    """AttentionTransferLoss is the authors' at_loss (a mean over the grid),
    which their code adds as beta * at_loss with beta = 1000 per stage."""
    losses = load('at', scale).model.distiller.distill_losses
    for name in METHODS['at']:
        assert losses[name] == dict(type='rkd_mm.AttentionTransferLoss',
                                    p=2.0, align='upsample_student',
                                    loss_weight=1000.0), name


@pytest.mark.parametrize('method,scale', CASES)
def test_baseline_config_trains_one_step(method, scale,
                                         full_weight_iteration):
    cfg = load(method, scale)
    cfg.model.teacher_ckpt = None
    torch.manual_seed(0)
    model = MODELS.build(cfg.model)
    assert model.distiller.discriminator is None
    # as the runner: the optimizer wrappers, then one scheduler list per
    # wrapper (the config's discriminator schedule has no wrapper to drive)
    wrappers = build_optim_wrapper(model, cfg.optim_wrapper)
    assert isinstance(wrappers, OptimWrapperDict)
    assert set(wrappers.keys()) == {'student'}
    schedulers = [
        PARAM_SCHEDULERS.build(
            sched, default_args=dict(optimizer=wrapper, epoch_length=1))
        for name, wrapper in wrappers.items()
        for sched in cfg.param_scheduler[name]
    ]
    connectors = model.distiller.connectors
    connector = [p.detach().clone() for p in connectors.parameters()]
    if method == 'fitnet':
        optimized = {id(p) for group in wrappers['student'].param_groups
                     for p in group['params']}
        assert connector and all(
            id(p) in optimized for p in connectors.parameters())

    model.train()
    # 4 images: Relational KD compares the structure of a batch, which is
    # trivial for 2 (one distance, normalised to 1 on both sides: its loss
    # is 0 up to float rounding, whose sign flips with the CPU's ISA)
    log_vars = model.train_step(hr_batch(n=4), wrappers)
    for sched in schedulers:
        sched.step()

    distill = {k for k in log_vars if k.startswith('distill.')}
    assert distill == {f'distill.{name}' for name in METHODS[method]}
    assert not any(k.startswith('disc.') for k in log_vars)
    assert 'student.decode.loss_ce' in log_vars
    for key, value in log_vars.items():
        assert torch.isfinite(torch.as_tensor(value)), key
    for key in distill:
        assert float(torch.as_tensor(log_vars[key]).detach()) > 0, key
    # the FitNets regressor learns with the student
    for before, p in zip(connector, connectors.parameters()):
        assert not torch.equal(before, p.detach())
