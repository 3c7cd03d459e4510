"""Side-by-side predictions of the HR teacher, the LR-only and the RKD
student on the same test images.

Usage::

    python tools/analysis_tools/visualize_predictions.py \
        --teacher CONFIG CKPT [--lr-only CONFIG CKPT] [--rkd CONFIG CKPT] \
        [--num 8] [--split test] [--panel-size 256] --out-dir DIR \
        [--cfg-options key=value ...]

Writes ``DIR/<image name>.png`` for the first ``--num`` images of the
split, one panel per column: HR input, LR input (upsampled with nearest
neighbours, so its pixels show), ground truth, teacher@HR, LR-only, RKD.
Labels are drawn in the data set's palette (legend below the panels; the
ignore label 255 in grey). Each model goes through its own config's test
path (data pipeline, ``test_step``), so what is drawn is what
``tools/test.py`` scores; a distiller is drawn from its student, on the LR
view it makes of the HR image, and needs no teacher checkpoint. Leave out
``--lr-only`` or ``--rkd`` for fewer panels. ``--cfg-options`` apply to
every config (e.g. a common ``test_dataloader.dataset.data_root``).
"""
import argparse
import os
import os.path as osp
from typing import Dict, List, Optional, Sequence, Tuple

import rkd_mm  # noqa: F401  (environment shims before mmengine runs)
import cv2
import numpy as np
import torch
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.patches import Patch
from mmengine.config import Config, DictAction
from mmengine.dataset import pseudo_collate
from mmengine.registry import init_default_scope

from rkd_mm.utils.lr_view import downsample_image
from rkd_mm.registry import DATASETS
from rkd_mm.apis.complexity import is_distiller
from rkd_mm.apis.latency import build_eval_model
from rkd_mm.apis.lr_scale import lr_scales
IGNORE_INDEX = 255
IGNORE_COLOUR = (128, 128, 128)
DPI = 128  # a power of two: figure sizes in inches are exact in binary


class Entry:
    """One model to draw: its config, weights, data set and scale.

    Args:
        role: ``'teacher'``, ``'lr_only'`` or ``'rkd'``.
        config: Config file.
        checkpoint: Its trained weights.
        split: ``'test'`` or ``'val'``.
        options: ``--cfg-options`` to merge.
    """

    def __init__(self, role: str, config: str, checkpoint: str, split: str,
                 options: Optional[dict]) -> None:
        if not osp.isfile(checkpoint):
            raise FileNotFoundError(
                f'--{role.replace("_", "-")}: checkpoint {checkpoint} not '
                f'found. Train it with `python tools/train.py {config}` or '
                'pass an existing .pth file.')
        cfg = Config.fromfile(config)
        if options:
            cfg.merge_from_dict(options)
        if role == 'rkd' and not is_distiller(cfg):
            raise ValueError(
                f'--rkd {config} is not a distiller config; pass the RKD '
                'config the checkpoint was trained with (configs/rkd/).')
        if role != 'rkd' and is_distiller(cfg):
            raise ValueError(
                f'--{role.replace("_", "-")} {config} is a distiller config; '
                'pass the plain model config (configs/teachers/ or '
                'configs/baselines/) or give it as --rkd.')
        self.role, self.config = role, config
        init_default_scope(cfg.get('default_scope', 'mmseg'))
        self.model = build_eval_model(cfg, checkpoint)
        loader = cfg[f'{split}_dataloader']
        self.dataset = DATASETS.build(loader.dataset)
        # the LR/HR ratio the model sees (None: its input is the HR image)
        test_scale = lr_scales(cfg).test
        self.scale: Optional[float] = None if test_scale == 1.0 \
            else test_scale

    @torch.no_grad()
    def predict(self, idx: int) -> Tuple[dict, np.ndarray]:
        """The data sample ``idx`` and the predicted label map (HR size)."""
        sample = self.dataset[idx]
        out = self.model.test_step(pseudo_collate([sample]))[0]
        return sample, out.pred_sem_seg.data[0].cpu().numpy()


def to_rgb(inputs: torch.Tensor) -> np.ndarray:
    """A packed ``(C, H, W)`` uint8 BGR image as ``(H, W, 3)`` RGB."""
    img = inputs.permute(1, 2, 0).cpu().numpy().astype(np.uint8)
    if img.shape[2] == 1:
        return np.repeat(img, 3, axis=2)
    return np.ascontiguousarray(img[..., ::-1])


def colourise(labels: np.ndarray, palette: Sequence[Sequence[int]]
              ) -> np.ndarray:
    """Label map ``(H, W)`` -> RGB with ``palette``; 255 (ignore) grey."""
    lut = np.zeros((256, 3), np.uint8)
    lut[:] = IGNORE_COLOUR
    lut[:len(palette)] = np.asarray(palette, np.uint8)
    return lut[labels.astype(np.int64).clip(0, 255)]


def resize_nearest(img: np.ndarray, size: Tuple[int, int]) -> np.ndarray:
    """``img`` at ``size`` = (H, W), nearest neighbour (pixels stay crisp)."""
    return cv2.resize(img, (size[1], size[0]),
                      interpolation=cv2.INTER_NEAREST)


def render(panels: List[Tuple[str, np.ndarray]], classes: Sequence[str],
           palette: Sequence[Sequence[int]], show_ignore: bool,
           panel_size: int, path: str) -> Tuple[int, int]:
    """Write the panels side by side with titles and a class legend.

    Every panel is resized (nearest) to ``panel_size`` pixels wide, so the
    PNG is exactly ``len(panels) * panel_size`` pixels wide.

    Returns:
        tuple: The PNG's ``(height, width)``.
    """
    h0, w0 = panels[0][1].shape[:2]
    ph = max(1, int(round(panel_size * h0 / w0)))
    band = max(16, panel_size // 10)  # title band and legend band
    width, height = len(panels) * panel_size, ph + 2 * band
    canvas = np.full((height, width, 3), 255, np.uint8)
    for i, (_, img) in enumerate(panels):
        canvas[band:band + ph, i * panel_size:(i + 1) * panel_size] = \
            resize_nearest(img, (ph, panel_size))
    fig = Figure(figsize=(width / DPI, height / DPI), dpi=DPI)
    FigureCanvasAgg(fig)
    fig.figimage(canvas, 0, 0, origin='upper')
    points = band * 0.55 * 72 / DPI  # font size in points for the band
    for i, (title, _) in enumerate(panels):
        fig.text((i + 0.5) / len(panels), 1 - 0.5 * band / height, title,
                 ha='center', va='center', fontsize=points)
    handles = [Patch(facecolor=np.asarray(c) / 255, edgecolor='black',
                     label=n) for n, c in zip(classes, palette)]
    if show_ignore:
        handles.append(Patch(facecolor=np.asarray(IGNORE_COLOUR) / 255,
                             edgecolor='black', label='ignore'))
    fig.legend(handles=handles, loc='center', ncol=len(handles),
               bbox_to_anchor=(0.5, 0.5 * band / height), frameon=False,
               fontsize=points * 0.9, handlelength=1.0, columnspacing=1.0)
    os.makedirs(osp.dirname(osp.abspath(path)), exist_ok=True)
    fig.savefig(path, dpi=DPI)
    return height, width


def lr_scale(entries: Dict[str, Entry]) -> Optional[float]:
    """The students' LR scale; both students must use the same one."""
    scales = {role: e.scale for role, e in entries.items()
              if role != 'teacher' and e.scale is not None}
    if len(set(scales.values())) > 1:
        raise ValueError(
            f'--lr-only sees x{scales["lr_only"]:g} and --rkd '
            f'x{scales["rkd"]:g} of the HR image: compare two students at '
            'the same scale.')
    return next(iter(scales.values()), None)


def visualize(teacher: Sequence[str], out_dir: str,
              lr_only: Optional[Sequence[str]] = None,
              rkd: Optional[Sequence[str]] = None, num: int = 8,
              split: str = 'test', panel_size: int = 256,
              options: Optional[dict] = None) -> List[str]:
    """Draw the first ``num`` images of ``split``; return the PNG paths.

    Args:
        teacher: ``(config, checkpoint)`` of the HR model.
        out_dir: Where the PNGs go.
        lr_only: ``(config, checkpoint)`` of the LR-only student, or None.
        rkd: ``(config, checkpoint)`` of the RKD distiller, or None.
        num: Number of images (the first ones of the split).
        split: ``'test'`` or ``'val'``.
        panel_size: Width of each panel in pixels.
        options: Config overrides applied to every config.
    """
    if num < 1 or panel_size < 8:
        raise ValueError(f'num={num} must be >= 1 and panel_size='
                         f'{panel_size} >= 8.')
    entries = {'teacher': Entry('teacher', *teacher, split, options)}
    for role, arg in (('lr_only', lr_only), ('rkd', rkd)):
        if arg is not None:
            entries[role] = Entry(role, *arg, split, options)
    scale = lr_scale(entries)
    if entries['teacher'].scale is not None:
        raise ValueError(
            f'--teacher {teacher[0]} downsamples its test images '
            f'(x{entries["teacher"].scale:g}); pass the HR model config.')
    meta = entries['teacher'].dataset.metainfo
    classes, palette = meta['classes'], meta['palette']
    count = min(num, len(entries['teacher'].dataset))
    paths = []
    for idx in range(count):
        preds, samples = {}, {}
        for role, entry in entries.items():
            samples[role], preds[role] = entry.predict(idx)
        name = samples['teacher']['data_samples'].img_path
        for role, sample in samples.items():
            if sample['data_samples'].img_path != name:
                raise ValueError(
                    f'image {idx} of {entries[role].config} is '
                    f'{sample["data_samples"].img_path}, of the teacher '
                    f'config {name}: point all configs at the same data '
                    '(e.g. --cfg-options test_dataloader.dataset.'
                    'data_root=...).')
        hr = to_rgb(samples['teacher']['inputs'])
        gt = samples['teacher']['data_samples'].gt_sem_seg.data[0].numpy()
        panels = [(f'HR input {hr.shape[0]}x{hr.shape[1]}', hr)]
        if scale is not None:
            lr = to_rgb(samples['lr_only']['inputs']) if 'lr_only' in \
                samples else downsample_image(hr, scale)
            panels.append(
                (f'LR input {lr.shape[0]}x{lr.shape[1]} (x{scale:g})',
                 resize_nearest(lr, hr.shape[:2])))
        panels += [('ground truth', colourise(gt, palette)),
                   ('teacher @ HR', colourise(preds['teacher'], palette))]
        if 'lr_only' in preds:
            panels.append((f'LR-only @ x{scale:g}',
                           colourise(preds['lr_only'], palette)))
        if 'rkd' in preds:
            panels.append((f'RKD @ x{scale:g}',
                           colourise(preds['rkd'], palette)))
        path = osp.join(out_dir,
                        osp.splitext(osp.basename(name))[0] + '.png')
        render(panels, classes, palette, bool((gt == IGNORE_INDEX).any()),
               panel_size, path)
        paths.append(path)
    return paths


def parse_args(argv: Optional[List[str]] = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description='Teacher / LR-only / RKD predictions side by side')
    pair = dict(nargs=2, metavar=('CONFIG', 'CKPT'))
    parser.add_argument('--teacher', required=True, **pair,
                        help='the HR model')
    parser.add_argument('--lr-only', **pair, help='the LR-only student')
    parser.add_argument('--rkd', **pair, help='the RKD distiller')
    parser.add_argument('--num', type=int, default=8,
                        help='how many images (the first of the split)')
    parser.add_argument('--split', choices=['test', 'val'], default='test')
    parser.add_argument('--panel-size', type=int, default=256,
                        help='width of each panel in pixels')
    parser.add_argument('--out-dir', required=True)
    parser.add_argument(
        '--cfg-options', nargs='+', action=DictAction,
        help='override settings in every config, key=value pairs')
    return parser.parse_args(argv)


def main(argv: Optional[List[str]] = None) -> List[str]:
    args = parse_args(argv)
    try:
        paths = visualize(args.teacher, args.out_dir, args.lr_only, args.rkd,
                          args.num, args.split, args.panel_size,
                          args.cfg_options)
    except (FileNotFoundError, ValueError) as e:
        raise SystemExit(str(e)) from None
    print(f'wrote {len(paths)} images to {args.out_dir}')
    return paths


if __name__ == '__main__':
    main()
