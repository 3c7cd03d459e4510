"""Paired runs: at one seed every config that trains a student starts it
from the same weights and drives it with the same random stream.

Checked through the production path (``Runner.from_cfg`` + ``train()``,
which initialises the weights in ``runner.train()``), with tiny models, for
each task family (segmentation, classification, embeddings):

* the student's parameters and buffers after initialisation are identical
  for the LR-only, KD and RKD configs;
* a distiller whose distillation terms all weigh 0 and whose discriminator
  is off trains the student bit-identically to the LR-only config: every
  student tensor after several iterations and the task loss of each
  iteration.
"""
import copy
import os.path as osp
from typing import Dict, List

import pytest
import torch
from mmengine.config import Config
from mmengine.hooks import Hook
from mmengine.runner import Runner

from conftest import (REPO, TINY_CLS_LR, TINY_CLS_RKD, TINY_LR, TINY_RKD,
                      load_tiny)
from rkd_mm.experiment.plan import transplant_method

ITERS = 4


class StudentRecorder(Hook):
    """The student's tensors after initialisation and after training, and
    the task losses of every iteration."""

    priority = 'LOWEST'

    def __init__(self) -> None:
        self.init: Dict[str, torch.Tensor] = {}
        self.final: Dict[str, torch.Tensor] = {}
        self.losses: List[Dict[str, float]] = []

    @staticmethod
    def student(runner) -> torch.nn.Module:
        model = runner.model
        return getattr(model, 'student', model)

    def state(self, runner) -> Dict[str, torch.Tensor]:
        return {k: v.detach().clone()
                for k, v in self.student(runner).state_dict().items()}

    def before_train(self, runner) -> None:
        self.init = self.state(runner)

    def after_train_iter(self, runner, batch_idx, data_batch=None,
                         outputs=None) -> None:
        self.losses.append(task_losses(outputs))

    def after_train(self, runner) -> None:
        self.final = self.state(runner)


def task_losses(log_vars: Dict[str, torch.Tensor]) -> Dict[str, float]:
    """The task's terms of an iteration's log variables as an LR-only model
    logs them.

    A distiller logs them as ``student.<key>``. ``BaseModel.parse_losses``
    of an LR-only model adds ``loss``, their total, which a head's own term
    named ``loss`` (mmpretrain's) then overwrites.
    """
    own = {k[len('student.'):]: v for k, v in log_vars.items()
           if k.startswith('student.')}
    if not own:  # an LR-only model
        return {k: float(v) for k, v in log_vars.items()}
    terms = {k: float(v) for k, v in own.items()}
    if 'loss' not in own:
        terms['loss'] = float(sum(v for k, v in own.items() if 'loss' in k))
    return terms


def train(cfg: Config, work_dir: str, seed: int = 0) -> StudentRecorder:
    cfg = copy.deepcopy(cfg)
    cfg.work_dir = work_dir
    cfg.randomness = dict(seed=seed)
    cfg.train_cfg.max_iters = ITERS
    cfg.train_cfg.val_interval = 2  # a validation inside the compared span
    runner = Runner.from_cfg(cfg)
    recorder = StudentRecorder()
    runner.register_hook(recorder)
    runner.train()
    return recorder


def zero_weight(cfg: Config) -> Config:
    """The distiller config with every distillation term at weight 0 and no
    discriminator (as the KD baselines switch it off)."""
    cfg = copy.deepcopy(cfg)
    for name, loss in cfg.model.distiller.distill_losses.items():
        if loss is not None:
            loss.loss_weight = 0.0
    cfg.model.distiller.adversarial = None
    return cfg


def kd(cfg: Config) -> Config:
    """The distiller config with the KD baseline's distillation fields, as
    ``tools/run_experiment.py --methods kd`` makes it
    (:func:`rkd_mm.experiment.plan.transplant_method`)."""
    cfg = copy.deepcopy(cfg)
    transplant_method(cfg, 'kd')
    return cfg


def same_loader(cfg: Config, lr_only: Config) -> Config:
    """The LR-only config's training loader settings (the tiny configs
    differ in workers; the real ones share one dataset base)."""
    cfg = copy.deepcopy(cfg)
    for key in ('num_workers', 'persistent_workers'):
        cfg.train_dataloader[key] = lr_only.train_dataloader[key]
    return cfg


def assert_same_tensors(a: Dict[str, torch.Tensor],
                        b: Dict[str, torch.Tensor], what: str) -> None:
    assert a.keys() == b.keys(), what
    differ = [k for k in a if not torch.equal(a[k], b[k])]
    assert not differ, (f'{what}: {len(differ)} of {len(a)} student tensors '
                        f'differ, e.g. {differ[:3]}')


# ----------------------------------------------------------------------
# the three task families
# ----------------------------------------------------------------------
def seg_configs(tiny_data_root, tmp_path):
    lr_only = load_tiny(TINY_LR, tiny_data_root, '')
    rkd = same_loader(load_tiny(TINY_RKD, tiny_data_root, ''), lr_only)
    return lr_only, rkd


def cls_configs(tiny_fmnist_root, tmp_path):
    lr_only = load_tiny(TINY_CLS_LR, tiny_fmnist_root, '')
    rkd = same_loader(load_tiny(TINY_CLS_RKD, tiny_fmnist_root, ''),
                      lr_only)
    return lr_only, rkd


def multires_configs(tiny_fmnist_root, tmp_path):
    """One student for two scales: the scale drawn per batch from torch's
    global stream, in the LR-only model's preprocessor and in the
    distiller's train step alike."""
    lr_only, rkd = cls_configs(tiny_fmnist_root, tmp_path)
    scales = dict(scale_factor=[0.5, 0.25], test_scale_factor=0.25)
    # mmpretrain's form: the LR-only config's top-level data_preprocessor
    lr_only.data_preprocessor.update(scales)
    rkd.model.student.data_preprocessor = dict(scales)
    return lr_only, rkd


REID_NET = {'backbone.stem_channels': 8, 'backbone.base_channels': 8,
            'head.in_channels': 64}


def reid_configs(tiny_fmnist_reid_root, tmp_path):
    """The shipped re-ID configs with tiny widths on tiny converted data."""
    out = tiny_fmnist_reid_root
    options = {'train_dataloader.batch_size': 8,
               'train_dataloader.batch_sampler.num_instances': 2}
    for name in ('train_dataloader', 'val_dataloader', 'test_dataloader'):
        options.update({
            f'{name}.dataset.data_root': osp.join(out, 'market1501'),
            f'{name}.num_workers': 0, f'{name}.persistent_workers': False})
    configs = []
    for path, prefixes in (('baselines/reid_fmnist_r18_lr_x0.25.py', ['']),
                           ('rkd/reid_fmnist_r18_to_r18_lr_x0.25.py',
                            ['teacher.', 'student.'])):
        cfg = Config.fromfile(osp.join(REPO, 'configs', path))
        extra = dict(options)
        for prefix in prefixes:
            extra.update({f'model.{prefix}{k}': v
                          for k, v in REID_NET.items()})
        if len(prefixes) > 1:
            extra.update({'model.teacher_ckpt': None,
                          'model.teacher_cache': None,
                          'model.distiller.adversarial.discriminator.'
                          'in_channels': 64,
                          'model.distiller.adversarial.discriminator.'
                          'hidden_channels': 16})
        cfg.merge_from_dict(extra)
        configs.append(cfg)
    return tuple(configs)


FAMILIES = {
    'segmentation': (seg_configs, 'tiny_data_root'),
    'classification': (cls_configs, 'tiny_fmnist_root'),
    'embeddings': (reid_configs, 'tiny_fmnist_reid_root'),
    'multi-resolution': (multires_configs, 'tiny_fmnist_root'),
}


@pytest.fixture(params=list(FAMILIES))
def family(request, tmp_path):
    make, data = FAMILIES[request.param]
    lr_only, rkd = make(request.getfixturevalue(data), tmp_path)
    return request.param, lr_only, rkd


def test_lr_only_kd_and_rkd_start_from_the_same_student(family, tmp_path):
    name, lr_only, rkd = family
    base = train(lr_only, str(tmp_path / 'lr'))
    for method, cfg in (('kd', kd(rkd)), ('rkd', rkd)):
        got = train(cfg, str(tmp_path / method))
        assert_same_tensors(base.init, got.init,
                            f'{name}: {method} initialisation')


@pytest.fixture(params=[1, 2], ids=['1thread', '2threads'])
def threads(request):
    """Both thread counts: on one thread a zero-weight term that was still
    computed changed a bias gradient by one ulp (the summation layout of a
    tensor with two consumers in the graph)."""
    old = torch.get_num_threads()
    torch.set_num_threads(request.param)
    yield request.param
    torch.set_num_threads(old)


def test_a_zero_weight_distiller_trains_like_lr_only(family, threads,
                                                     tmp_path):
    name, lr_only, rkd = family
    base = train(lr_only, str(tmp_path / 'lr'))
    got = train(zero_weight(rkd), str(tmp_path / 'zero'))
    assert len(base.losses) == len(got.losses) == ITERS
    for it, (a, b) in enumerate(zip(base.losses, got.losses)):
        assert a.keys() == b.keys() and a, (it, a, b)
        assert a == b, f'{name}: iteration {it}: task losses {a} vs {b}'
    assert_same_tensors(base.final, got.final, f'{name}: after {ITERS} '
                        'iterations')
