"""Print a config as the tools read it: ``_base_`` files merged,
``--cfg-options`` applied, and for a distiller its teacher and student
models as it builds them (``cfg_path`` resolved).

Usage::

    python tools/misc/print_config.py CONFIG [--cfg-options k=v ...]
        [--no-models] [--save FILE]
"""
import argparse

import rkd_mm  # noqa: F401  (environment shims before mmengine runs)
from mmengine.config import Config, DictAction

from rkd_mm.apis.model_config import is_distiller, resolved_model_cfg
from rkd_mm.utils.cfg_options import check_cfg_options


def main(argv=None) -> str:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('config')
    parser.add_argument('--cfg-options', nargs='+', action=DictAction,
                        help='overrides, as in tools/train.py')
    parser.add_argument('--no-models', action='store_true',
                        help="a distiller's teacher/student as written "
                        '(cfg_path), not resolved')
    parser.add_argument('--save', help='also write the config to this file')
    args = parser.parse_args(argv)
    cfg = Config.fromfile(args.config)
    if args.cfg_options:
        check_cfg_options(cfg, args.cfg_options)
        cfg.merge_from_dict(args.cfg_options)
    text = cfg.pretty_text
    if is_distiller(cfg) and not args.no_models:
        for role in ('teacher', 'student'):
            model = Config({f'{role}_model': resolved_model_cfg(cfg, role)})
            text += (f'\n# model.{role} as the distiller builds it:\n' +
                     model.pretty_text)
    print(text)
    if args.save:
        cfg.dump(args.save)
    return text


if __name__ == '__main__':
    main()
