"""How much mIoU can a logit grid of a given size hold? An upper bound.

Usage::

    python tools/analysis_tools/logit_grid_oracle.py CONFIG
        [--grids 8 16 32] [--split test] [--steps 300] [--out oracle.json]

For each grid size g, free logits ``(N, C, g, g)`` — one set per image, no
network — are upsampled bilinearly to the label size (the one bilinear step
an LR segmentor's prediction takes, ``rkd_mm.LREncoderDecoder``) and fitted
by Adam directly to the split's own label maps (class-weighted
cross-entropy with the config's decode-head class weights, plus the
Lovász-softmax surrogate of IoU). The mIoU of their argmax is what the
output grid alone allows: a student whose input gives a g x g logit grid
(an FPN at stride 4: g = input / 4, 8 at x0.25 of 128) is limited by what
it *learns* whenever it scores far below this bound, not by its grid.

It reads only labels (the images are never used), so it costs seconds to
minutes on a CPU. Class IoUs are computed over the whole split as
``tools/test.py`` does (intersection and union summed over images).
"""
import argparse
import json
from typing import Dict, List, Optional, Sequence

import numpy as np
import torch
import torch.nn.functional as F

import rkd_mm  # noqa: F401  (environment shims)
from mmengine.config import Config, DictAction
from mmengine.registry import init_default_scope


def parse_args(argv: Optional[List[str]] = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description='Upper bound of mIoU for a logit grid of size g')
    parser.add_argument('config', help='any config of the data (e.g. an '
                        'LR-only or teacher config)')
    parser.add_argument('--grids', type=int, nargs='+', default=[8, 16, 32],
                        help='logit grid sizes to fit')
    parser.add_argument('--split', choices=['val', 'test'], default='test')
    parser.add_argument('--steps', type=int, default=300,
                        help='Adam steps per grid')
    parser.add_argument('--lr', type=float, default=0.3)
    parser.add_argument('--seed', type=int, default=0)
    parser.add_argument('--out', help='write the results as JSON')
    parser.add_argument('--cfg-options', nargs='+', action=DictAction,
                        help='override settings in the config')
    return parser.parse_args(argv)


def load_labels(cfg: Config, split: str) -> torch.Tensor:
    """The split's label maps ``(N, H, W)`` (long), via the config's
    dataset and pipeline, and its class names."""
    from mmengine.registry import DATASETS
    init_default_scope(cfg.get('default_scope', 'mmseg'))
    dataset = DATASETS.build(cfg[f'{split}_dataloader'].dataset)
    labels = [dataset[i]['data_samples'].gt_sem_seg.data[0]
              for i in range(len(dataset))]
    return torch.stack(labels).long(), list(dataset.metainfo['classes'])


def class_weights(cfg: Config, num_classes: int) -> torch.Tensor:
    """The decode head's CE class weights (ones if none are set)."""
    head = cfg.model.get('decode_head') or cfg.model.get(
        'student', {}).get('decode_head', {})
    losses = head.get('loss_decode', [])
    losses = losses if isinstance(losses, (list, tuple)) else [losses]
    for loss in losses:
        if loss.get('class_weight') is not None:
            return torch.tensor(loss['class_weight'], dtype=torch.float32)
    return torch.ones(num_classes)


def lovasz_softmax(probs: torch.Tensor, labels: torch.Tensor,
                   ignore_index: int = 255) -> torch.Tensor:
    """Lovász-softmax over the present classes (Berman et al., CVPR 2018),
    on ``(M, C)`` probabilities and ``(M,)`` labels."""
    valid = labels != ignore_index
    probs, labels = probs[valid], labels[valid]
    losses = []
    for c in labels.unique():
        fg = (labels == c).float()
        errors = (fg - probs[:, c]).abs()
        errors, order = errors.sort(descending=True)
        fg = fg[order]
        inter = fg.sum() - fg.cumsum(0)
        union = fg.sum() + (1 - fg).cumsum(0)
        jaccard = 1 - inter / union
        jaccard[1:] = jaccard[1:] - jaccard[:-1]
        losses.append(torch.dot(errors, jaccard))
    return torch.stack(losses).mean()


def fit_grid(labels: torch.Tensor, num_classes: int, grid: int,
             weight: torch.Tensor, steps: int, lr: float,
             ignore_index: int = 255) -> torch.Tensor:
    """Fit free ``(N, C, grid, grid)`` logits; return the predictions."""
    n, h, w = labels.shape
    logits = torch.zeros(n, num_classes, grid, grid, requires_grad=True)
    opt = torch.optim.Adam([logits], lr=lr)
    for _ in range(steps):
        up = F.interpolate(logits, size=(h, w), mode='bilinear',
                           align_corners=False)
        ce = F.cross_entropy(up, labels, weight=weight,
                             ignore_index=ignore_index)
        probs = up.softmax(1).permute(0, 2, 3, 1).reshape(-1, num_classes)
        loss = ce + lovasz_softmax(probs, labels.reshape(-1), ignore_index)
        opt.zero_grad()
        loss.backward()
        opt.step()
    with torch.no_grad():
        up = F.interpolate(logits, size=(h, w), mode='bilinear',
                           align_corners=False)
        return up.argmax(1)


def iou(pred: torch.Tensor, labels: torch.Tensor, num_classes: int,
        ignore_index: int = 255) -> np.ndarray:
    """Per-class IoU (%) over the split; NaN for a class never present."""
    valid = labels != ignore_index
    out = []
    for c in range(num_classes):
        p, t = (pred == c) & valid, (labels == c) & valid
        union = (p | t).sum().item()
        out.append(100.0 * (p & t).sum().item() / union if union else
                   float('nan'))
    return np.array(out)


def main(argv: Optional[Sequence[str]] = None) -> Dict[str, dict]:
    args = parse_args(argv)
    cfg = Config.fromfile(args.config)
    if args.cfg_options:
        cfg.merge_from_dict(args.cfg_options)
    torch.manual_seed(args.seed)
    labels, classes = load_labels(cfg, args.split)
    weight = class_weights(cfg, len(classes))
    results = {}
    print(f'{args.split}: {len(labels)} label maps '
          f'{tuple(labels.shape[1:])}, class weights {weight.tolist()}')
    print('grid   mIoU   ' + '  '.join(f'{c:>10}' for c in classes))
    for grid in args.grids:
        pred = fit_grid(labels, len(classes), grid, weight, args.steps,
                        args.lr)
        per_class = iou(pred, labels, len(classes))
        miou = float(np.nanmean(per_class))
        results[str(grid)] = dict(
            mIoU=round(miou, 2),
            **{f'IoU.{c}': round(float(v), 2)
               for c, v in zip(classes, per_class)})
        print(f'{grid:>4}  {miou:5.2f}   ' +
              '  '.join(f'{v:10.2f}' for v in per_class))
    if args.out:
        with open(args.out, 'w') as f:
            json.dump(dict(split=args.split, steps=args.steps,
                           grids=results), f, indent=2)
    return results


if __name__ == '__main__':
    main()
