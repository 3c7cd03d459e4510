"""Gradient norms that loss terms put on a student, and the weights that
calibrate them (``tools/analysis_tools/loss_gradients.py``, the runner's
``--target-ratio``).

The calibration rule (docs/method.md): at the seeded initialisation, each
distillation term's weight is set so that the norm of its gradient on the
student's parameters is a fixed fraction ``R`` of the task loss's.
"""
import copy
import itertools
import logging
import math
import os.path as osp
from typing import Dict, List, Optional

import torch
from mmengine.config import Config
from mmengine.logging import MMLogger
from mmengine.registry import init_default_scope
from mmengine.runner import Runner
from mmengine.runner.utils import set_random_seed
from torch import nn

from rkd_mm.models.algorithms import ResolutionAwareDistiller
from rkd_mm.registry import MODELS
from rkd_mm.utils.checkpoint import load_weights
from .model_config import is_distiller

# a term whose gradient norm is below this fraction of the task's has
# none to calibrate
MIN_RATIO = 1e-4
# ... and one whose gradient norm is above this multiple of the task's is
# degenerate at these inputs (e.g. a normalised difference of coincident
# embeddings): calibrating it would give a weight that switches it off
# (relational KD once got 1.9e-12: docs/reid_face.md)
MAX_RATIO = 1e4
# the student's adversarial term: reported, never rescaled (see analyse)
ADV_TERM = 'distill.loss_adv'

__all__ = [
    'train_batches', 'build_model', 'loss_terms', 'flat_grad',
    'current_weight', 'analyse', 'refuse_degenerate', 'calibrate'
]


def train_batches(cfg: Config, num: int, seed: int) -> List[dict]:
    """The first ``num`` batches of ``train_dataloader``, seeded (sampler
    and augmentations; loaded in this process)."""
    init_default_scope(cfg.get('default_scope', 'mmseg'))
    set_random_seed(seed)
    loader_cfg = copy.deepcopy(cfg.train_dataloader)
    loader_cfg.update(num_workers=0, persistent_workers=False)
    loader = Runner.build_dataloader(loader_cfg, seed=seed)
    batches = list(itertools.islice(loader, num))
    if len(batches) < num:
        print(f'train_dataloader has only {len(batches)} batches.')
    return batches


def build_model(cfg: Config, checkpoint: Optional[str], seed: int,
                device: str) -> nn.Module:
    """The model in train mode: seeded initialisation, or ``checkpoint``
    (strictly). A distiller gets no warm-up and no teacher cache."""
    init_default_scope(cfg.get('default_scope', 'mmseg'))
    model_cfg = copy.deepcopy(cfg.model)
    if is_distiller(cfg):
        model_cfg.distill_warmup_iters = 0  # terms at full weight
        model_cfg.teacher_cache = None  # no files written
    set_random_seed(seed)
    try:
        model = MODELS.build(model_cfg)
    except FileNotFoundError as err:
        raise FileNotFoundError(
            f'{err}\nOr run with a random teacher: '
            '--cfg-options model.teacher_ckpt=None') from err
    if checkpoint is not None and not osp.isfile(checkpoint):
        raise FileNotFoundError(f'checkpoint {checkpoint} not found.')
    logger = MMLogger.get_current_instance()
    level = logger.level
    logger.setLevel(logging.WARNING)  # init_weights lists every parameter
    try:
        model.init_weights()  # as the runner does before training
        if checkpoint is not None:
            load_weights(model, checkpoint)
    finally:
        logger.setLevel(level)
    if _discriminator(model) is not None:  # frozen, as in train_student
        _discriminator(model).requires_grad_(False)
    return model.to(device).train()


def _discriminator(model: nn.Module) -> Optional[nn.Module]:
    """A distiller's discriminator (None: none, or not a distiller)."""
    if not isinstance(model, ResolutionAwareDistiller):
        return None
    return model.distiller.discriminator


def _loss_items(losses: Dict[str, object]) -> Dict[str, torch.Tensor]:
    """The entries that training sums (``loss`` in the name; lists summed,
    as ``BaseModel.parse_losses``)."""
    return {k: sum(v) if isinstance(v, (list, tuple)) else v
            for k, v in losses.items() if 'loss' in k}


def loss_terms(model: nn.Module, data: dict) -> Dict[str, torch.Tensor]:
    """One batch's training losses (before any update), as the training
    step computes them: ``forward(mode='loss')`` (a distiller's: task and
    distillation terms) plus the student side of the adversarial loss, as
    in the distiller's ``train_student``."""
    data = model.data_preprocessor(data, True)
    terms = _loss_items(model(**data, mode='loss'))
    if _discriminator(model) is not None:
        terms['distill.loss_adv'] = model.student_adv_loss(
            model.student_records())
    return terms


def flat_grad(loss: torch.Tensor, params: List[nn.Parameter]) -> torch.Tensor:
    """``d loss / d params`` as one vector (zeros where it does not reach)."""
    if not loss.requires_grad:
        return torch.zeros(sum(p.numel() for p in params),
                           device=loss.device)
    grads = torch.autograd.grad(
        loss, params, retain_graph=True, allow_unused=True)
    return torch.cat([(g if g is not None else torch.zeros_like(p)).flatten()
                      for g, p in zip(grads, params)])


def current_weight(model: nn.Module, name: str):
    """``(loss_weight, cfg-options key)`` of a distillation term, or
    ``(None, None)`` for a task term or a loss without ``loss_weight``."""
    if name == 'distill.loss_adv':
        return (model.distiller.adv_loss.loss_weight,
                'model.distiller.adversarial.loss.loss_weight')
    if name.startswith('distill.'):
        key = name[len('distill.'):]
        weight = getattr(model.distiller.distill_losses[key], 'loss_weight',
                         None)
        if weight is not None:
            return weight, f'model.distiller.distill_losses.{key}.loss_weight'
    return None, None


def analyse(model: nn.Module, batches: List[dict],
            target_ratio: Optional[float] = None) -> Dict[str, dict]:
    """``{term: row}``; each row has ``value``, ``grad_norm``,
    ``ratio`` (to the task's norm), ``cos_task`` and, for distillation
    terms, ``loss_weight`` (+ ``new_weight``, ``cfg_option`` with
    ``target_ratio``). Rows: task terms, ``task``, distillation terms."""
    distiller = hasattr(model, 'distill_loss_dict')
    student = model.student if distiller else model
    params = [p for p in student.parameters() if p.requires_grad]
    sums: Dict[str, List[float]] = {}
    for data in batches:
        terms = loss_terms(model, data)
        task = [k for k in terms if not distiller or k.startswith('student.')]
        grads = {k: flat_grad(v, params) for k, v in terms.items()}
        values = {k: float(v.detach()) for k, v in terms.items()}
        grads['task'] = sum(grads[k] for k in task)  # = grad of the sum
        values['task'] = sum(values[k] for k in task)
        g_task = grads['task']
        order = task + ['task'] + [k for k in terms if k not in task]
        for name in order:
            g = grads[name]
            denom = float(g.norm() * g_task.norm())
            cos = float(g @ g_task) / denom if denom > 0 else math.nan
            row = sums.setdefault(name, [0.0, 0.0, 0.0])
            for i, v in enumerate((values[name], float(g.norm()), cos)):
                row[i] += v / len(batches)
        del grads, terms
    table = {}
    task_norm = sums['task'][1]
    for name, (value, norm, cos) in sums.items():
        row = dict(value=value, grad_norm=norm,
                   ratio=norm / task_norm if task_norm > 0 else math.nan,
                   cos_task=cos)
        weight, key = current_weight(model, name) if distiller else (None,
                                                                     None)
        if weight is not None:
            row['loss_weight'] = weight
            if target_ratio is not None and name == ADV_TERM:
                # the discriminator is untrained at the calibration point:
                # its judgement's gradient grows by orders of magnitude as
                # it learns (a weight calibrated at init, 21x the
                # configured one, stalled the task loss: docs/results.md)
                row['note'] = ('adversarial: not calibrated at '
                               'initialisation (untrained discriminator); '
                               'weight left as it is')
            elif target_ratio is not None and row['ratio'] > MAX_RATIO:
                row['note'] = (
                    f'gradient {row["ratio"]:.3g} x the task\'s at weight '
                    f'{weight:g}: degenerate at these inputs (check the '
                    'loss, or the weight); not calibrated')
                row['degenerate'] = True
            elif target_ratio is not None and row['ratio'] > MIN_RATIO:
                row['new_weight'] = weight * target_ratio * task_norm / norm
                row['cfg_option'] = f'{key}={row["new_weight"]:.6g}'
            elif target_ratio is not None:
                # e.g. AT on a 1x1 student map: a constant attention map
                # has no gradient, and rescaling it would only give an
                # absurd weight that explodes once the gradient appears
                row['note'] = ('no gradient on the student at this point: '
                               'weight left as it is')
        table[name] = row
    return table


def refuse_degenerate(table: Dict[str, dict]) -> None:
    """Raise if :func:`analyse` found a degenerate term: a calibration that
    leaves a term out is not the rule (its configured weight would swamp
    the task, a calibrated one would switch the term off).

    Raises:
        ValueError: Naming each degenerate term and the fix.
    """
    degenerate = [f'{name} degenerate: {row["note"]}'
                  for name, row in table.items() if row.get('degenerate')]
    if degenerate:
        raise ValueError(
            'calibration refused: ' + '; '.join(degenerate) + '. A weight '
            'that brings such a term to R x the task\'s switches it off. '
            'Fix the term (see its loss\'s docstring) or leave the method '
            'out of --target-ratio and set its loss_weight in the config.')


def calibrate(cfg: Config, target_ratio: float, batches: int = 8,
              seed: int = 0, device: str = 'cpu') -> Dict[str, float]:
    """The rule: ``{cfg-options key: loss_weight}`` that make every
    distillation term's gradient norm on the student ``target_ratio`` times
    the task's, at the initialisation seeded by ``seed``.

    Args:
        cfg: A distiller config (its ``teacher_ckpt`` loaded as usual).
        target_ratio: ``R`` (> 0).
        batches: Training batches to average over.
        seed: Seed of initialisation, data order and dropout.
        device: Where to compute.

    Returns:
        dict: e.g. ``{'model.distiller.distill_losses.loss_kd.loss_weight':
        2.1}``.
    """
    if target_ratio <= 0:
        raise ValueError(f'target_ratio={target_ratio} must be > 0.')
    data = train_batches(cfg, batches, seed)
    model = build_model(cfg, None, seed, device)
    set_random_seed(seed)
    table = analyse(model, data, target_ratio)
    refuse_degenerate(table)
    out = {}
    for name, row in table.items():
        if 'cfg_option' in row:
            key = row['cfg_option'].split('=')[0]
            out[key] = float(row['new_weight'])
    return out
