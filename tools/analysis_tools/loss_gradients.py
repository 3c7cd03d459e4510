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
are calibrated. A term whose gradient is over 1e4 times the task's at its
configured weight is degenerate at these inputs (e.g. a normalised
difference of coincident embeddings): it is noted, never rescaled, and with
``--target-ratio`` the tool exits with an error after writing the table
(the runner stops there). With CHECKPOINT, a distiller (or, for a plain
config, a segmentor) checkpoint is loaded strictly. Nothing is written
except ``--out``; a distiller's teacher-output cache is not used.
"""
import argparse
import json
import math
import os
import os.path as osp
from typing import Dict, List, Optional

import rkd_mm  # noqa: F401  (environment shims before mmengine runs)
import torch
from mmengine.config import Config, DictAction
from mmengine.runner.utils import set_random_seed

from rkd_mm.apis.complexity import is_distiller
from rkd_mm.apis.loss_gradients import (analyse, build_model,
                                         refuse_degenerate,
                                         train_batches)


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
    try:
        model = build_model(cfg, args.checkpoint, args.seed, args.device)
    except FileNotFoundError as err:  # no teacher / checkpoint: say how
        raise SystemExit(str(err)) from err
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
        for name, row in table.items():
            if 'note' in row:
                print(f'  {name}: {row["note"]}')
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
    if args.target_ratio is not None:
        try:  # after the table is written: the runner stops here
            refuse_degenerate(table)
        except ValueError as err:
            raise SystemExit(str(err)) from err
    return result


if __name__ == '__main__':
    main()
