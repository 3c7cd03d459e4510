"""Rewrite a config written before 2026-12-07 (or before 2026-12-02) in the
current form.

Usage::

    python tools/misc/upgrade_config.py OLD_CONFIG NEW_CONFIG [--force]

The old config is read with its ``_base_`` files and written as one
standalone config: a distiller's wiring fields in one ``model.distiller``
block (its discriminator in ``adversarial``), bare-string loss inputs made
explicit, the distiller's scale fields and ``rkd_mm.LRDownsample`` pipeline
steps moved into the LR data preprocessors, the DDP wrapper renamed. The
same model trains on the same pixels. Prints what it changed (nothing, for
a current config). :mod:`rkd_mm.apis.config_upgrade` has the rules.
"""
import argparse
import os.path as osp

import rkd_mm  # noqa: F401  (environment shims before mmengine runs)
from mmengine.config import Config

from rkd_mm.apis.config_upgrade import legacy_reasons, upgrade_config


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('config', help='the old config')
    parser.add_argument('out', help='where to write the rewritten config')
    parser.add_argument('--force', action='store_true',
                        help='overwrite OUT if it exists')
    args = parser.parse_args(argv)
    if osp.exists(args.out) and not args.force:
        raise SystemExit(f'{args.out} exists: give another path, or --force '
                         'to overwrite it.')
    cfg = Config.fromfile(args.config)
    new, notes = upgrade_config(cfg)
    left = legacy_reasons(new)
    if left:  # a form the rules do not know
        raise SystemExit(f'{args.config}: could not rewrite ' +
                         '; '.join(left))
    new.dump(args.out)
    print(f'{args.config} -> {args.out}')
    for note in notes or ['nothing to change: the config is current']:
        print(f'  {note}')


if __name__ == '__main__':
    main()
