"""Test (evaluate) a checkpoint on a config's test split.

Usage::

    python tools/test.py CONFIG CHECKPOINT [--work-dir DIR] [--out DIR]
        [--show-dir DIR] [--show] [--cfg-options key=value ...]
        [--launcher {none,pytorch,slurm,mpi}]

Prints the config's metrics (segmentation: per-class IoU and mIoU;
classification: accuracy, macro-F1, per-class precision/recall/F1, ...);
``--show-dir DIR`` writes the config's visualisation: segmentation
(rkd_mm's ``SegPanelVisualizationHook``): per test image one
``DIR/<image name>.png`` with the input, the truth, the (student's)
prediction and a distiller's teacher's side by side and a class legend;
classification (``ClsPanelVisualizationHook``): per test image the image
enlarged with its true and predicted classes; re-ID and face configs
(``RetrievalVisualizationHook``): rank lists of evenly spaced queries, or
the hardest verification pairs. A config with mmseg's or mmpretrain's own
hook gets theirs. ``--out`` writes the predictions
(mmseg's ``IoUMetric``: the label maps as PNGs, its ``output_dir``; a metric
without ``output_dir``: all predictions to ``OUT/predictions.pkl`` by
MMEngine's ``DumpResults``). The metrics also go to
``<log dir>/test_metrics.json``.

The checkpoint is read safely (no code from the file runs; see
``rkd_mm/utils/checkpoint.py``) and must fit the config's model exactly; a
distiller checkpoint given to a plain student config is scored as its
student. Any other mismatch stops with the missing/unexpected keys and shape
mismatches, before anything is scored.
"""
import argparse
import json
import os
import os.path as osp

import rkd_mm  # noqa: F401  (environment shims before mmengine runs)
from mmengine.config import Config, DictAction
from mmengine.dist import is_main_process
from mmengine.registry import RUNNERS
from mmengine.runner import Runner

from rkd_mm.engine.hooks import register_strict_load_hook
from rkd_mm.registry import registered_class
from rkd_mm.utils.cfg_options import check_cfg_options
from rkd_mm.utils.checkpoint import CheckpointError, check_checkpoint_file
from rkd_mm.apis.config_upgrade import refuse_legacy


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description='Test a checkpoint')
    parser.add_argument('config', help='test config file path')
    parser.add_argument('checkpoint', help='checkpoint file')
    parser.add_argument(
        '--work-dir', help='the dir to save the evaluation logs and metrics')
    parser.add_argument(
        '--out', help='the dir to save the predicted label maps (PNG)')
    parser.add_argument(
        '--show', action='store_true', help='show the results in a window')
    parser.add_argument(
        '--show-dir',
        help='the dir to save the drawn test images (per image: input, '
        'truth and predictions side by side)')
    parser.add_argument(
        '--wait-time', type=float, default=2, help='seconds per --show')
    parser.add_argument(
        '--cfg-options',
        nargs='+',
        action=DictAction,
        help='override settings in the config, key=value pairs')
    parser.add_argument(
        '--launcher',
        choices=['none', 'pytorch', 'slurm', 'mpi'],
        default='none',
        help='job launcher')
    parser.add_argument('--local_rank', '--local-rank', type=int, default=0)
    args = parser.parse_args()
    if 'LOCAL_RANK' not in os.environ:
        os.environ['LOCAL_RANK'] = str(args.local_rank)
    return args


def _registered(registry, cfg: Config, type_name):
    return registered_class(registry, type_name,
                            cfg.get('default_scope') or 'mmseg')


def _takes(cls, arg: str) -> bool:
    import inspect
    return cls is not None and arg in inspect.signature(cls).parameters


def trigger_visualization_hook(cfg: Config, args: argparse.Namespace
                               ) -> Config:
    """Turn on the config's visualization hook for every test image.

    What to set is asked of the hook class: mmseg's ``SegVisualizationHook``
    takes ``draw`` (its images go through the visualizer, ``save_dir`` set
    to ``--show-dir``); rkd_mm's ``SegPanelVisualizationHook``,
    ``ClsPanelVisualizationHook`` and ``RetrievalVisualizationHook`` and
    mmpretrain's ``VisualizationHook`` take ``enable`` and ``out_dir``
    (``--show-dir``); a hook with ``interval`` gets 1 (every image), one
    with ``show``/``wait_time`` those of ``--show``.
    """
    from rkd_mm.registry import HOOKS
    hook = cfg.default_hooks.get('visualization')
    if hook is None:
        raise RuntimeError(
            '--show/--show-dir need default_hooks.visualization (rkd_mm\'s '
            "SegPanelVisualizationHook or ClsPanelVisualizationHook, mmseg's "
            "SegVisualizationHook or mmpretrain's VisualizationHook) in the "
            'config.')
    cls = _registered(HOOKS, cfg, hook.get('type'))
    if _takes(cls, 'draw'):  # mmseg
        hook['draw'] = True
        if args.show_dir:
            cfg.visualizer['save_dir'] = args.show_dir
    elif _takes(cls, 'enable'):  # rkd_mm's, mmpretrain's
        hook['enable'] = True
        if args.show_dir:
            hook['out_dir'] = args.show_dir
    else:
        raise RuntimeError(
            f'--show/--show-dir: default_hooks.visualization is {cls}, '
            'which is neither mmseg\'s SegVisualizationHook (draw=) nor '
            "rkd_mm's Seg/ClsPanelVisualizationHook, "
            "RetrievalVisualizationHook or mmpretrain's VisualizationHook "
            '(enable=).')
    if _takes(cls, 'interval'):  # per-image hooks: every test image
        hook['interval'] = 1
    if args.show:
        hook['show'] = True
        hook['wait_time'] = args.wait_time
    return cfg


def request_outputs(cfg: Config, out: str) -> None:
    """Predictions to ``out``: the metric's own ``output_dir`` where it has
    one (mmseg's IoUMetric writes label-map PNGs), else every prediction
    to ``out/predictions.pkl`` (MMEngine's DumpResults)."""
    from rkd_mm.registry import METRICS
    evaluator = cfg.test_evaluator
    metrics = evaluator if isinstance(evaluator, list) else [evaluator]
    first = _registered(METRICS, cfg, metrics[0].get('type'))
    if _takes(first, 'output_dir'):
        metrics[0]['output_dir'] = out
        metrics[0]['keep_results'] = True
        return
    dump = dict(type='DumpResults',
                out_file_path=osp.join(out, 'predictions.pkl'))
    cfg.test_evaluator = list(metrics) + [dump]


def merge_args(cfg: Config, args: argparse.Namespace) -> Config:
    """Merge the command-line arguments into the config."""
    cfg.launcher = args.launcher
    if args.cfg_options is not None:
        check_cfg_options(cfg, args.cfg_options)
        cfg.merge_from_dict(args.cfg_options)
    if args.work_dir is not None:
        cfg.work_dir = args.work_dir
    elif cfg.get('work_dir', None) is None:
        cfg.work_dir = osp.join('./work_dirs',
                                osp.splitext(osp.basename(args.config))[0])
    if not osp.exists(args.checkpoint):
        raise FileNotFoundError(
            f'Checkpoint {args.checkpoint} not found. Train one first with '
            f'`python tools/train.py {args.config}` (it is written to '
            f'{cfg.work_dir}/), or pass the path of an existing .pth file.')
    cfg.load_from = args.checkpoint
    if args.show or args.show_dir:
        cfg = trigger_visualization_hook(cfg, args)
    if args.out is not None:
        request_outputs(cfg, args.out)
    cfg.custom_hooks = list(cfg.get('custom_hooks', [])) + [
        dict(type='rkd_mm.ProgressBarHook')
    ]
    return cfg


def _plain(value):
    """JSON form of numpy scalars/arrays (metrics are ``np.float32``
    under numpy 2, which ``json`` refuses)."""
    if hasattr(value, 'tolist'):
        return value.tolist()
    raise TypeError(f'{type(value).__name__} is not JSON serializable')


def main() -> None:
    args = parse_args()
    cfg = merge_args(Config.fromfile(args.config), args)
    try:  # an outdated config: what changed and the command that rewrites
        refuse_legacy(cfg, args.config)
    except ValueError as err:
        raise SystemExit(str(err)) from None
    try:
        check_checkpoint_file(args.checkpoint)  # before building anything
        runner = Runner.from_cfg(cfg) if 'runner_type' not in cfg else \
            RUNNERS.build(cfg)
        # MMEngine loads load_from non-strictly: stop on a checkpoint of
        # another model instead of scoring random weights
        register_strict_load_hook(runner)
        metrics = runner.test()
    except CheckpointError as err:
        raise SystemExit(f'tools/test.py: {err}') from None
    if is_main_process():
        path = osp.join(runner.log_dir, 'test_metrics.json')
        with open(path, 'w') as f:
            json.dump(dict(config=args.config, checkpoint=args.checkpoint,
                           metrics=metrics), f, indent=2,
                      default=_plain)
        print(f'metrics written to {path}')


if __name__ == '__main__':
    main()
