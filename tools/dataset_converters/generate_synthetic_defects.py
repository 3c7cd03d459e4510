"""Write the built-in synthetic defect segmentation data set.

Usage::

    python tools/dataset_converters/generate_synthetic_defects.py \
        --out data/synthetic_defects [--img-size 128] [--num-train 1000] \
        [--num-val 200] [--num-test 200] [--seed 0] [--with-elpv] \
        [--preview preview.png]

The training configs generate ``data/synthetic_defects`` themselves when it
is missing; use this tool for other sizes (e.g. ``--img-size 512`` for the
GPU configs), other seeds, or to look at samples first (``--preview``).
The target folder must not exist: nothing is ever overwritten.
"""
import argparse
import os.path as osp

import cv2
import numpy as np

from rkd_mm.datasets.defect_synthesis import (PALETTE, DefectDataSettings,
                                              generate_dataset,
                                              render_sample, sample_rng)
from rkd_mm.datasets.defect_synthesis.generator import DEFAULT_TEXTURES
from rkd_mm.utils.lr_view import downsample_image


def parse_args() -> argparse.Namespace:
    defaults = DefectDataSettings()
    parser = argparse.ArgumentParser(
        description='Generate the synthetic defect segmentation data set')
    parser.add_argument('--out', required=True, help='new output folder')
    parser.add_argument('--img-size', type=int, default=defaults.img_size)
    parser.add_argument('--num-train', type=int, default=defaults.num_train)
    parser.add_argument('--num-val', type=int, default=defaults.num_val)
    parser.add_argument('--num-test', type=int, default=defaults.num_test)
    parser.add_argument('--seed', type=int, default=defaults.seed)
    parser.add_argument(
        '--textures',
        nargs='+',
        default=list(DEFAULT_TEXTURES),
        help='background sources (brick grass gravel fractal brushed woven '
        'elpv)')
    parser.add_argument(
        '--with-elpv',
        action='store_true',
        help='add defect-free ELPV solar cells as backgrounds (CC BY-NC-SA '
        '4.0, needs `pip install elpv-dataset==1.0.0.post1`)')
    parser.add_argument(
        '--preview',
        help='also write a PNG grid of training samples: image, mask '
        'overlay, x0.5 and x0.25 views')
    return parser.parse_args()


def preview(settings: DefectDataSettings, path: str, n: int = 8) -> None:
    """Grid of ``n`` training samples: HR, overlay, x0.5, x0.25 (upscaled)."""
    rows = []
    palette = np.array(PALETTE, np.uint8)[:, ::-1]  # RGB -> BGR for cv2
    size = settings.img_size
    for i in range(n):
        s = render_sample(settings, sample_rng(settings.seed, 'train', i))
        grey = cv2.cvtColor(s.img, cv2.COLOR_GRAY2BGR)
        overlay = np.where(s.mask[..., None] > 0,
                           (0.4 * grey + 0.6 * palette[s.mask]), grey)
        views = [grey, overlay.astype(np.uint8)]
        for scale in (0.5, 0.25):
            lr = downsample_image(s.img, scale)
            up = cv2.resize(lr, (size, size), interpolation=cv2.INTER_NEAREST)
            views.append(cv2.cvtColor(up, cv2.COLOR_GRAY2BGR))
        rows.append(np.hstack(views))
    cv2.imwrite(path, np.vstack(rows))


def main() -> None:
    args = parse_args()
    textures = list(args.textures)
    if args.with_elpv and 'elpv' not in textures:
        textures.append('elpv')
    settings = DefectDataSettings(
        img_size=args.img_size,
        num_train=args.num_train,
        num_val=args.num_val,
        num_test=args.num_test,
        seed=args.seed,
        textures=tuple(textures))
    meta = generate_dataset(args.out, settings)
    print(f'wrote {args.out} in {meta["seconds"]} s: {meta["splits"]}')
    for split, counts in meta['class_pixels'].items():
        total = sum(counts.values())
        if not total:
            continue
        share = ', '.join(f'{k} {100 * v / total:.2f}%'
                          for k, v in counts.items())
        print(f'  {split}: {share}')
    if args.preview:
        preview(settings, args.preview)
        print(f'preview: {osp.abspath(args.preview)}')


if __name__ == '__main__':
    main()
