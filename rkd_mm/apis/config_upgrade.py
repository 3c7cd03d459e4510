"""Configs written before the house was rebuilt (2026-12-07), and before
the LR scale moved into the data preprocessor (2026-12-02): found, refused
with what to do, and rewritten by ``tools/misc/upgrade_config.py``.

What changed, and what the rewrite does:

* A distiller's wiring fields (``student_taps``, ``teacher_taps``,
  ``connectors``, ``distill_losses``, ``loss_inputs``, ``discriminator``,
  ``adv_loss``, ``disc_tap``, ``disc_connector``, ``disc_steps``,
  ``gen_steps``) moved into one ``model.distiller`` block
  (:class:`~rkd_mm.models.distillers.ConfigurableDistiller`), the
  adversarial ones into its ``adversarial`` part; its DDP wrapper is
  ``rkd_mm.DistillerDistributedDataParallel``.
* Loss inputs given as bare tap names (the side from an ``_S`` suffix,
  ``'<tap>@lr'`` for the LR view, connectors keyed by the student tap they
  applied to) become explicit ``dict(from_student=..., tap=..., view=...,
  connector=...)`` inputs.
* A distiller's ``scale_factor`` / ``test_scale_factor`` /
  ``teacher_scale_factor`` (and ``lr_resize``) move into the student's /
  teacher's LR data preprocessor; an ``rkd_mm.LRDownsample`` step in an
  LR-only config's pipelines becomes its model's LR data preprocessor at
  that scale (the same pixels: tested when the scale moved).
"""
import copy
from typing import Any, Dict, List, Optional, Tuple

from mmengine.config import Config, ConfigDict

from .lr_scale import is_lr_preprocessor, lr_type_of
from .model_config import is_distiller

__all__ = ['legacy_reasons', 'upgrade_config', 'refuse_legacy',
           'WIRING_FIELDS', 'SCALE_FIELDS']

#: a distiller's wiring fields of the old flat form
WIRING_FIELDS = ('student_taps', 'teacher_taps', 'connectors',
                 'distill_losses', 'loss_inputs')
ADVERSARIAL_FIELDS = ('discriminator', 'adv_loss', 'disc_tap',
                      'disc_connector', 'disc_steps', 'gen_steps')
SCALE_FIELDS = ('scale_factor', 'test_scale_factor', 'teacher_scale_factor',
                'lr_resize')
LR_PIPELINE_STEPS = ('rkd_mm.LRDownsample', 'LRDownsample')
LOADERS = ('train_dataloader', 'val_dataloader', 'test_dataloader')
OLD_WRAPPER = 'MMSeparateDistributedDataParallel'
NEW_WRAPPER = 'rkd_mm.DistillerDistributedDataParallel'
UPGRADE = 'python tools/misc/upgrade_config.py OLD_CONFIG NEW_CONFIG'


def _pipelines(cfg: Config):
    for loader in LOADERS:
        dataset = (cfg.get(loader) or {}).get('dataset') or {}
        yield loader, dataset.get('pipeline') or []


def _lr_steps(cfg: Config, loader: Optional[str] = None) -> List[dict]:
    return [step for name, pipeline in _pipelines(cfg)
            if loader in (None, name) for step in pipeline
            if isinstance(step, dict) and step.get('type') in
            LR_PIPELINE_STEPS]


def _bare_inputs(model: dict) -> List[str]:
    inputs = model.get('loss_inputs') or \
        (model.get('distiller') or {}).get('loss_inputs') or {}
    return [f'{loss}.{arg}' for loss, args in inputs.items()
            for arg, value in (args or {}).items()
            if isinstance(value, str) and value != 'gt']


def legacy_reasons(cfg: Config) -> List[str]:
    """What in ``cfg`` is of a form the code no longer reads (empty when
    nothing is)."""
    reasons = []
    model = cfg.get('model') or {}
    if _lr_steps(cfg):
        reasons.append('rkd_mm.LRDownsample in a data pipeline (the LR view '
                       'is made by the model\'s LR data preprocessor now)')
    if model.get('type') is None or not is_distiller(cfg):
        return reasons
    flat = [k for k in (*WIRING_FIELDS, *ADVERSARIAL_FIELDS) if k in model]
    if flat:
        reasons.append(f'model.{", model.".join(flat)} (they belong in the '
                       'model.distiller block now)')
    scales = [k for k in SCALE_FIELDS if model.get(k) is not None]
    if scales:
        reasons.append(f'model.{", model.".join(scales)} (the scale lives in '
                       'the student\'s / teacher\'s LR data preprocessor)')
    bare = _bare_inputs(model)
    if bare:
        reasons.append(f'loss inputs as bare tap names ({", ".join(bare)}; '
                       'write dict(from_student=..., tap=...))')
    wrapper = (cfg.get('model_wrapper_cfg') or {}).get('type')
    if wrapper == OLD_WRAPPER:
        reasons.append(f'model_wrapper_cfg.type={OLD_WRAPPER} (a '
                       f'distiller is wrapped by {NEW_WRAPPER})')
    return reasons


def refuse_legacy(cfg: Config, path: str = 'the config') -> None:
    """Stop with what is outdated in ``cfg`` and the command that rewrites
    it (nothing else changes in the results: the rewrite gives the same
    model and the same pixels).

    Raises:
        ValueError: If :func:`legacy_reasons` finds anything.
    """
    reasons = legacy_reasons(cfg)
    if reasons:
        raise ValueError(
            f'{path} is written in a form rkd_mm no longer reads: ' +
            '; '.join(reasons) + f'. Rewrite it with `{UPGRADE}` (the '
            'rewritten config trains the same model on the same pixels).')


def _explicit_input(arg: str, value: Any) -> Any:
    """A bare-string loss input as an explicit one."""
    if not isinstance(value, str) or value == 'gt':
        return value
    if value.endswith('@lr'):
        return dict(from_student=False, tap=value[:-len('@lr')], view='lr')
    return dict(from_student=arg.endswith('_S'), tap=value)


def _upgrade_wiring(model: ConfigDict) -> ConfigDict:
    """The flat wiring fields of an old distiller as a ``distiller``
    block (bare inputs made explicit, connectors keyed by tap given to the
    inputs of that tap)."""
    distiller = dict(model.pop('distiller', None) or {})
    distiller.setdefault('type', 'rkd_mm.ConfigurableDistiller')
    for field in WIRING_FIELDS:
        if field in model:
            distiller[field] = model.pop(field)
    inputs = distiller.get('loss_inputs') or {}
    connectors = distiller.get('connectors') or {}
    legacy = bool(_bare_inputs(dict(distiller=distiller)))
    new_inputs = {}
    for loss, args in inputs.items():
        new_args = {}
        for arg, value in (args or {}).items():
            was_bare = isinstance(value, str) and value != 'gt'
            value = _explicit_input(arg, value)
            if legacy and was_bare and isinstance(value, dict) and \
                    value['from_student'] and value['tap'] in connectors:
                value = dict(value, connector=value['tap'])
            new_args[arg] = value
        new_inputs[loss] = new_args
    if inputs:
        distiller['loss_inputs'] = new_inputs
    disc = model.pop('discriminator', None)
    adv = {k: model.pop(k) for k in ADVERSARIAL_FIELDS[1:] if k in model}
    if disc is not None:
        tap = adv.get('disc_tap', 'feat')
        connector = adv.get('disc_connector')
        if connector is None and legacy and tap in connectors:
            connector = tap
        adversarial = dict(discriminator=disc, tap=tap)
        if adv.get('adv_loss') is not None:
            adversarial['loss'] = adv['adv_loss']
        if connector is not None:
            adversarial['connector'] = connector
        for key in ('disc_steps', 'gen_steps'):
            if adv.get(key, 1) != 1:
                adversarial[key] = adv[key]
        distiller['adversarial'] = adversarial
    else:
        distiller.pop('adversarial', None)
    return ConfigDict(distiller)


def _lr_preprocessor_override(model_cfg: dict, scale, test_scale,
                              scope: str) -> dict:
    """The data preprocessor override that gives a (student or teacher)
    model the LR view at ``scale``."""
    dp = dict(model_cfg.get('data_preprocessor') or {})
    override = dict(scale_factor=scale)
    if test_scale is not None:
        override['test_scale_factor'] = test_scale
    if not is_lr_preprocessor(dp, scope):
        override['type'] = lr_type_of(dp, model_cfg, scope)
    return override


def upgrade_config(cfg: Config) -> Tuple[Config, List[str]]:
    """``cfg`` (a merged config) in the current form, and one line per
    change made (empty if it was current)."""
    from .model_config import resolved_model_cfg
    cfg = copy.deepcopy(cfg)
    notes: List[str] = []
    scope = cfg.get('default_scope') or 'mmseg'
    steps = _lr_steps(cfg)
    if steps:
        test = _lr_steps(cfg, 'test_dataloader') or steps
        train = _lr_steps(cfg, 'train_dataloader') or test
        for _, pipeline in _pipelines(cfg):
            pipeline[:] = [s for s in pipeline if not (
                isinstance(s, dict) and s.get('type') in LR_PIPELINE_STEPS)]
        override = _lr_preprocessor_override(
            cfg.model, train[-1].get('scale_factor', 0.5),
            test[-1].get('scale_factor', 0.5), scope)
        cfg.model.data_preprocessor = ConfigDict(
            dict(cfg.model.get('data_preprocessor') or {}, **override))
        notes.append('rkd_mm.LRDownsample removed from the pipelines; '
                     f'model.data_preprocessor: {override}')
    if cfg.get('model', {}).get('type') is None or not is_distiller(cfg):
        return cfg, notes
    model = cfg.model
    scale = model.pop('scale_factor', None)
    test_scale = model.pop('test_scale_factor', None)
    teacher_scale = model.pop('teacher_scale_factor', None)
    model.pop('lr_resize', None)
    for role, s, t in (('student', scale, test_scale),
                       ('teacher', teacher_scale, None)):
        if s is None and t is None:
            continue
        resolved = resolved_model_cfg(cfg, role)
        override = _lr_preprocessor_override(
            resolved, s if s is not None else t, t, scope)
        model[role]['data_preprocessor'] = ConfigDict(
            dict(model[role].get('data_preprocessor') or {}, **override))
        notes.append(f'model.{role}.data_preprocessor: {override} (from '
                     'the distiller\'s scale fields)')
    if any(k in model for k in (*WIRING_FIELDS, *ADVERSARIAL_FIELDS)) or \
            _bare_inputs(model):
        model.distiller = _upgrade_wiring(model)
        notes.append('model.distiller: the wiring fields in one block' +
                     (', with its adversarial part'
                      if 'adversarial' in model.distiller else ''))
    wrapper = cfg.get('model_wrapper_cfg')
    if wrapper is not None and wrapper.get('type') == OLD_WRAPPER:
        wrapper['type'] = NEW_WRAPPER
        notes.append(f'model_wrapper_cfg.type: {NEW_WRAPPER}')
    return cfg, notes
