"""GFLOPs and parameters of a config's model per image.

Usage::

    python tools/analysis_tools/get_flops.py CONFIG [--shape H [W]]
        [--cfg-options key=value ...]

Without ``--shape`` the input size is what the config's test pipeline
produces, so an LR student is measured at its LR size. For a distiller
config both the teacher (at HR) and the student (at LR) are reported, with
their ratio. Counted with ``mmengine.analysis`` (one multiply-add = one
FLOP). ``--shape`` is the HR size.
"""
import argparse

import rkd_mm  # noqa: F401  (environment shims)
from mmengine.config import Config, DictAction

from rkd_mm.apis.complexity import (distiller_complexity, is_distiller,
                                     model_complexity)


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description='Get the FLOPs of a model')
    parser.add_argument('config', help='config file path')
    parser.add_argument(
        '--shape', type=int, nargs='+', help='(HR) input size H [W]')
    parser.add_argument(
        '--cfg-options', nargs='+', action=DictAction,
        help='override settings in the config, key=value pairs')
    return parser.parse_args()


def describe(name: str, result: dict) -> str:
    return (f'{name}input shape: {result["input_shape"]}\n'
            f'{name}GFLOPs/img: {result["flops"] / 1e9:.3f}\n'
            f'{name}Params: {result["params"] / 1e6:.2f} M')


def main() -> None:
    args = parse_args()
    cfg = Config.fromfile(args.config)
    if args.cfg_options is not None:
        cfg.merge_from_dict(args.cfg_options)
    shape = None
    if args.shape:
        if len(args.shape) > 2:
            raise SystemExit('--shape takes H or H W.')
        shape = args.shape * 2 if len(args.shape) == 1 else args.shape
    line = '=' * 40
    print(f'{line}\nConfig: {args.config}')
    if is_distiller(cfg):
        both = distiller_complexity(cfg, shape)
        t, s = both['teacher'], both['student']
        print(describe('Teacher ', t))
        print(describe('Student ', s))
        print(f'Teacher/student GFLOPs: {t["flops"] / s["flops"]:.2f}x')
    else:
        print(describe('', model_complexity(cfg, shape)))
    print(line)


if __name__ == '__main__':
    main()
