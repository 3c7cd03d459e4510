"""Check and summarise the data of a config, split by split.

Usage::

    python tools/analysis_tools/check_dataset.py CONFIG [--max-images N]
        [--splits train val test] [--cfg-options key=value ...]

Prints per split: image count, image sizes, per class the images that
contain it (and its share of the pixels, segmentation), then what would
train or score wrong, each naming a file and what to change: label values
outside the classes, masks saved as 0/255, colour label maps, classes that
never appear, images of several sizes or of a size the LR scale does not
divide. ``tools/train.py`` runs the same check before training. Exits 1
when an error was found.
"""
import argparse
import sys

import rkd_mm  # noqa: F401  (environment shims before mmengine runs)
from mmengine.config import Config, DictAction

from rkd_mm.apis.data_check import DEFAULT_MAX_IMAGES, check_config_data
from rkd_mm.utils.cfg_options import check_cfg_options


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('config')
    parser.add_argument(
        '--max-images', type=int, default=DEFAULT_MAX_IMAGES,
        help='images read per split, evenly sampled beyond it (0: all; '
        f'default {DEFAULT_MAX_IMAGES})')
    parser.add_argument('--splits', nargs='+', default=['train', 'val',
                                                         'test'])
    parser.add_argument('--cfg-options', nargs='+', action=DictAction)
    args = parser.parse_args(argv)
    cfg = Config.fromfile(args.config)
    if args.cfg_options:
        check_cfg_options(cfg, args.cfg_options)
        cfg.merge_from_dict(args.cfg_options)
    reports = check_config_data(cfg, args.splits, args.max_images or None,
                                raise_on_error=False)
    for report in reports:
        print('\n'.join(report.summary_lines()))
    errors = sum(len(r.errors) for r in reports)
    print(f'{errors} error(s), {sum(len(r.warnings) for r in reports)} '
          'warning(s)')
    return 1 if errors else 0


if __name__ == '__main__':
    sys.exit(main())
