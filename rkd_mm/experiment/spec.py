"""What an experiment is: its methods and their labels, the arguments of
``tools/run_experiment.py`` (:class:`ExperimentSpec`, checked before
anything trains) and one run of its plan (:class:`Run`). The floor the
other modules of the package stand on: it imports none of them."""
import json
import os.path as osp
from dataclasses import dataclass, field
from typing import Dict, Optional, Sequence

from mmengine.config import Config

__all__ = [
    'METHODS', 'RECIPE_METHODS', 'REFERENCE_METHODS', 'PLAIN_METHODS',
    'OURS', 'LABELS', 'DISTILL_FIELDS', 'REFERENCE_ROOT', 'ExperimentSpec',
    'Run', 'check_spec', 'parse_max_seeds', 'parse_target_ratios'
]

# the KD baselines and recipe variants the runner knows; CONFIG's
# `method_recipes` maps each it supports to the recipe config whose
# distillation fields are transplanted into CONFIG (the scale comes from
# --scales)
RECIPE_METHODS = ('kd', 'fitnet', 'at', 'relkd', 'cwd', 'dkd', 'rkd_dense')
# the two reference models beside every table (no distillation): the
# teacher's network on the LR information, the student's network on the HR
# image; they split the teacher - LR-only gap into what the LR input has
# lost and what the student's capacity misses
REFERENCE_METHODS = ('lr_ceiling', 'hr_student')
METHODS = ['lr_only', *RECIPE_METHODS, 'rkd', *REFERENCE_METHODS]
# methods that train without a teacher
PLAIN_METHODS = ('lr_only', *REFERENCE_METHODS)
# our methods: compared with the strongest baseline too
OURS = ('rkd', 'rkd_dense')
# what a method is: a distiller's wiring block (model.distiller)
DISTILL_FIELDS = ('distiller', )
LABELS = {
    'teacher': 'teacher (HR)', 'lr_only': 'LR-only', 'kd': 'KD (Hinton)',
    'fitnet': 'FitNet', 'at': 'AT', 'relkd': 'Relational KD (Park)',
    'cwd': 'CWD', 'dkd': 'DKD', 'rkd_dense': 'dense CRKD (ours)',
    'rkd': 'RKD (ours)', 'lr_ceiling': 'LR ceiling (teacher net, LR input)',
    'hr_student': 'HR student (student net, HR input)'
}
#: where the reference models (``--methods lr_ceiling hr_student``) are
#: trained, one folder per config: shared by every work dir that plans the
#: same run, as the teacher's folder is
REFERENCE_ROOT = osp.join('work_dirs', 'reference_models')


@dataclass
class ExperimentSpec:
    """What to run: the arguments of ``tools/run_experiment.py``.

    Attributes:
        config: The distiller config that fixes the protocol.
        methods: Student runs per scale, in this order.
        scales: LR/HR factors; None for CONFIG's own.
        seeds: ``randomness.seed`` of each run.
        max_seeds: ``{method: N}``: run it on the first N seeds only.
        iters: Student schedule length (None: CONFIG's).
        target_ratio: ``{method: R}`` of the weight rule (None: the
            configs' own weights).
        cfg_options: Overrides for every run (``model.*`` for distillers
            only).
        work_dir: Where the runs, calibrations and reports go.
        reference_dir: Where the reference models are trained and kept.
    """
    config: str
    methods: Sequence[str] = ('lr_only', 'rkd')
    scales: Optional[Sequence[float]] = None
    seeds: Sequence[int] = (0, )
    max_seeds: Dict[str, int] = field(default_factory=dict)
    iters: Optional[int] = None
    target_ratio: Optional[Dict[str, float]] = None
    cfg_options: Optional[dict] = None
    work_dir: str = osp.join('work_dirs', 'experiment')
    reference_dir: str = REFERENCE_ROOT


def parse_max_seeds(values: Sequence[str],
                    methods: Sequence[str]) -> Dict[str, int]:
    """``['kd=1']`` (``--max-seeds``) as ``{method: N}`` (N >= 1, methods
    of the plan).

    Raises:
        ValueError: Naming the bad value and the form to use.
    """
    out = {}
    for value in values:
        method, sep, n = value.partition('=')
        if not sep or not n.isdigit() or int(n) < 1:
            raise ValueError(f'--max-seeds {value!r}: write METHOD=N with N '
                             '>= 1, e.g. "kd=1".')
        if method not in methods:
            raise ValueError(f'--max-seeds {value!r}: {method!r} is not one '
                             f'of --methods {list(methods)}.')
        out[method] = int(n)
    return out


def parse_target_ratios(values: Optional[Sequence[str]],
                        methods: Sequence[str]
                        ) -> Optional[Dict[str, float]]:
    """``['0.1', 'kd=0.3']`` (``--target-ratio``) as ``{method: R}`` for
    every distiller method of the plan (None without values).

    Raises:
        ValueError: Naming the bad value and the form to use.
    """
    if not values:
        return None
    default, ratios = None, {}
    for value in values:
        method, sep, number = value.rpartition('=')
        try:
            ratio = float(number)
        except ValueError:
            raise ValueError(f'--target-ratio {value!r}: expected R or '
                             'METHOD=R with R a positive number, e.g. 0.1 '
                             'or kd=0.3') from None
        if not ratio > 0:
            raise ValueError(f'--target-ratio {value!r}: R must be > 0')
        if not sep:
            default = ratio
        elif method not in methods or method in PLAIN_METHODS:
            raise ValueError(f'--target-ratio {value!r}: {method!r} is not '
                             'a distiller method of --methods '
                             f'({" ".join(methods)})')
        else:
            ratios[method] = ratio
    missing = [m for m in methods
               if m not in PLAIN_METHODS and m not in ratios]
    if missing and default is None:
        raise ValueError('--target-ratio gives no R for ' +
                         ', '.join(missing) + '; add a plain R for the rest '
                         'or METHOD=R for each')
    return {m: ratios.get(m, default) for m in methods
            if m not in PLAIN_METHODS}


def check_spec(spec: ExperimentSpec) -> None:
    """Refuse a bad plan before anything trains (a first run trains the
    teacher first: a typo must not surface after it).

    Raises:
        ValueError: Naming the bad value and the fix.
    """
    for scale in spec.scales or []:
        if not 0 < scale <= 1:
            hint = f' (did you mean {scale / 100:g}?)' \
                if 1 < scale <= 100 else ''
            raise ValueError(f'--scales {scale:g}: a scale is the LR/HR '
                             'size ratio, in (0, 1], e.g. 0.5 or '
                             f'0.25{hint}')
    if spec.iters is not None and spec.iters < 1:
        raise ValueError(f'--iters {spec.iters}: the student schedule needs '
                         'at least 1 iteration; leave --iters out for the '
                         "configs' own schedule")
    if any(seed < 0 for seed in spec.seeds):
        raise ValueError(f'--seeds {list(spec.seeds)}: seeds are integers '
                         '>= 0')
    for name in ('scales', 'methods', 'seeds'):
        values = list(getattr(spec, name) or [])
        if len(set(values)) != len(values):
            raise ValueError(f'--{name} {values}: each value once')
    unknown = [m for m in spec.methods if m not in METHODS]
    if unknown:
        raise ValueError(f'--methods {unknown}: not one of {METHODS}')


class Run:
    """One training (or scoring) run and its files."""

    def __init__(self, name: str, method: str, scale: float,
                 seed: Optional[int], cfg: Config, work_root: str,
                 train: bool = True, ckpt: Optional[str] = None) -> None:
        self.name, self.method, self.scale, self.seed = (name, method, scale,
                                                         seed)
        self.cfg, self.train, self.ckpt = cfg, train, ckpt
        self.dir = osp.join(work_root, 'runs', name)
        self.config_file = osp.join(self.dir, 'config.py')
        self.result_file = osp.join(self.dir, 'result.json')

    @property
    def finished(self) -> bool:
        return osp.isfile(self.result_file)

    def result(self) -> dict:
        with open(self.result_file) as f:
            return json.load(f)
