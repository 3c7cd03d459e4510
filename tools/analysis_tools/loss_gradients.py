"""Gradient norm that each loss term puts on the student, and weights that
balance the terms.

Usage::

    python tools/analysis_tools/loss_gradients.py CONFIG [CHECKPOINT]
        [--batches 4] [--seed 0] [--target-ratio R] [--device cpu]
        [--out grads.json] [--cfg-options key=value ...]

On a few seeded training batches (``train_dataloader``, model in train mode
as in training) it reports, per loss term, the value, the norm of its
gradient on the **student's** parameters (``model.student``; not the
connectors or the discriminator; a plain segmentor config: the whole model,
task terms only), the ratio of that norm to the task's and the cosine with
the task gradient. The task is the sum of the student's own losses
(``student.*``). Each term gets its own ``torch.autograd.grad``; norms and
cosines are per batch (one training step's gradient), averaged over the
batches. The terms are the ones the training step computes, through the
distiller's own methods: ``student.*``, ``distill.*`` and, with a
discriminator, ``distill.loss_adv`` (the frozen discriminator's judgement of
the student tap). Distillation terms are at full weight:
``distill_warmup_iters`` is ignored.

With ``--target-ratio R`` it prints, per distillation term, the
``loss_weight`` that makes its gradient norm ``R`` times the task's at this
point (``new = weight * R * |g_task| / |g_term|``; the gradient is linear in
the weight) as ``--cfg-options`` to paste. Without CHECKPOINT the student is
at its initialisation (seeded by ``--seed``): the point at which the weights
are calibrated. With one, a distiller (or, for a plain config, a segmentor)
checkpoint is loaded strictly. Nothing is written except ``--out``; a
distiller's teacher-output cache is not used.
"""
import argparse
import copy
import itertools
import json
import logging
import math
import os
import os.path as osp
from typing import Dict, List, Optional

import rkd_mm  # noqa: F401  (environment shims before mmengine runs)
import torch
from mmengine.config import Config, DictAction
from mmengine.logging import MMLogger
from mmengine.registry import init_default_scope
from mmengine.runner import Runner
from mmengine.runner.checkpoint import load_checkpoint
from mmengine.runner.utils import set_random_seed
from torch import nn

from rkd_mm.registry import MODELS
from rkd_mm.utils.complexity import is_distiller


def parse_args(argv: Optional[List[str]] = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description='Per-loss-term gradient norms on the student',
        epilog='A distiller config whose teacher checkpoint does not exist '
        'yet runs with a random teacher via --cfg-options '
        'model.teacher_ckpt=None (its distillation gradients then say '
        'little about the trained teacher\'s).')
    parser.add_argument('config', help='distiller or plain segmentor config')
    parser.add_argument(
        'checkpoint', nargs='?',
        help='weights to load strictly (default: the seeded initialisation)')
    parser.add_argument(
        '--batches', type=int, default=4, metavar='N',
        help='training batches to average over (default: 4)')
    parser.add_argument(
        '--seed', type=int, default=0,
        help='seed of the initialisation, data order, augmentations and '
        'dropout (default: 0)')
    parser.add_argument(
        '--target-ratio', type=float, metavar='R',
        help='print the loss_weight of each distillation term that makes '
        'its gradient norm R times the task\'s (e.g. 0.1)')
    parser.add_argument(
        '--device', default='cuda' if torch.cuda.is_available() else 'cpu',
        help='device (default: cuda if available, else cpu)')
    parser.add_argument(
        '--out', metavar='JSON', help='write the table as JSON here')
    parser.add_argument(
        '--cfg-options', nargs='+', action=DictAction,
        help='override settings in the config, key=value pairs (e.g. '
        'model.teacher_ckpt=None for a random teacher)')
    return parser.parse_args(argv)


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
        raise SystemExit(f'{err}\nOr run with a random teacher: '
                         '--cfg-options model.teacher_ckpt=None') from err
    if checkpoint is not None and not osp.isfile(checkpoint):
        raise SystemExit(f'checkpoint {checkpoint} not found.')
    logger = MMLogger.get_current_instance()
    level = logger.level
    logger.setLevel(logging.WARNING)  # init_weights lists every parameter
    try:
        model.init_weights()  # as the runner does before training
        if checkpoint is not None:
            load_checkpoint(model, checkpoint, map_location='cpu',
                            strict=True)
    finally:
        logger.setLevel(level)
    if getattr(model, 'discriminator', None) is not None:
        model.discriminator.requires_grad_(False)  # as in train_student
    return model.to(device).train()


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
    if getattr(model, 'discriminator', None) is not None:
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
        return model.adv_loss.loss_weight, 'model.adv_loss.loss_weight'
    if name.startswith('distill.'):
        key = name[len('distill.'):]
        weight = getattr(model.distill_losses[key], 'loss_weight', None)
        if weight is not None:
            return weight, f'model.distill_losses.{key}.loss_weight'
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
            if target_ratio is not None and norm > 0:
                row['new_weight'] = weight * target_ratio * task_norm / norm
                row['cfg_option'] = f'{key}={row["new_weight"]:.6g}'
        table[name] = row
    return table


def format_table(table: Dict[str, dict]) -> str:
    head = (f'{"term":<28} {"value":>10} {"|grad|":>10} {"|g|/|g_task|":>12}'
            f' {"cos(g,g_task)":>13} {"weight":>9} {"new weight":>11}')
    lines = [head, '-' * len(head)]
    for name, r in table.items():
        weight = f'{r["loss_weight"]:.4g}' if 'loss_weight' in r else ''
        new = f'{r["new_weight"]:.4g}' if 'new_weight' in r else ''
        lines.append(
            f'{name:<28} {r["value"]:>10.4g} {r["grad_norm"]:>10.4g} '
            f'{r["ratio"]:>12.4g} {r["cos_task"]:>13.3f} {weight:>9} '
            f'{new:>11}')
    return '\n'.join(lines)


def _json_safe(x):
    return None if isinstance(x, float) and math.isnan(x) else x


def main(argv: Optional[List[str]] = None) -> dict:
    args = parse_args(argv)
    if args.batches < 1:
        raise SystemExit(f'--batches {args.batches} must be >= 1.')
    if args.target_ratio is not None and args.target_ratio <= 0:
        raise SystemExit(f'--target-ratio {args.target_ratio} must be > 0.')
    cfg = Config.fromfile(args.config)
    if args.cfg_options is not None:
        cfg.merge_from_dict(args.cfg_options)
    torch.backends.cudnn.benchmark = False  # repeatable on a GPU too
    torch.backends.cudnn.deterministic = True
    batches = train_batches(cfg, args.batches, args.seed)
    model = build_model(cfg, args.checkpoint, args.seed, args.device)
    set_random_seed(args.seed)  # dropout etc., whatever the build consumed
    table = analyse(model, batches, args.target_ratio)

    distiller = is_distiller(cfg)
    student = model.student if distiller else model
    n_params = sum(p.numel() for p in student.parameters()
                   if p.requires_grad)
    print(f'Config: {args.config}')
    print(f'Weights: {args.checkpoint or f"initialisation, seed {args.seed}"}'
          f'; {len(batches)} train batches (seed {args.seed}), train mode')
    print('Gradients on the student\'s parameters only: '
          + (f'model.student ({n_params:,} values), not the connectors or '
             'the discriminator;' if distiller else
             f'the whole model ({n_params:,} values), task terms only;'))
    print('task = sum of the student\'s own losses; distillation terms at '
          'full weight (distill_warmup_iters ignored); norms and cosines '
          'per batch, averaged.')
    print(format_table(table))
    options = [r['cfg_option'] for r in table.values() if 'cfg_option' in r]
    if args.target_ratio is not None:
        print(f'\nloss_weight for |g_term| = {args.target_ratio:g} x |g_task| '
              'at this point:')
        for option in options:
            print(f'  --cfg-options {option}')
        if len(options) > 1:
            print(f'all together:\n  --cfg-options {" ".join(options)}')
        if not options:
            print('  (no distillation term with a loss_weight and a nonzero '
                  'gradient)')
    result = dict(
        config=args.config, checkpoint=args.checkpoint, seed=args.seed,
        batches=len(batches), device=args.device,
        target_ratio=args.target_ratio, student_params=n_params,
        terms={k: {f: _json_safe(v) for f, v in r.items()}
               for k, r in table.items()},
        cfg_options=options)
    if args.out:
        os.makedirs(osp.dirname(osp.abspath(args.out)), exist_ok=True)
        with open(args.out, 'w') as f:
            json.dump(result, f, indent=2)
        print(f'written to {args.out}')
    return result


if __name__ == '__main__':
    main()
