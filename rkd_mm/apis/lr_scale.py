"""Read and set the LR scale of a config, for every tool.

The scale lives in one place: the ``scale_factor`` / ``test_scale_factor``
of an LR data preprocessor (:class:`~rkd_mm.models.LRSegDataPreProcessor`,
:class:`~rkd_mm.models.LRClsDataPreProcessor`): ``model.data_preprocessor``
of an LR-only config, the student's (``model.student``, usually an LR-only
config by ``cfg_path``) of a distiller, and the teacher's for a teacher
assistant. The FLOP counter, the latency benchmark, the ONNX exporter, the
resolution sweep, the prediction viewer and the runner read it here, so
none of them knows where a given kind of config keeps it. (Configs written
before 2026-12-02 kept it elsewhere: ``tools/misc/upgrade_config.py``
rewrites them.)
"""
from typing import List, NamedTuple, Optional, Sequence, Tuple, Union

from mmengine.config import Config, ConfigDict

from rkd_mm.models.data_preprocessors import LRViewMixin
from rkd_mm.registry import MODELS, registered_class
from rkd_mm.utils.lr_view import check_scale_factor
from .model_config import is_distiller, resolved_model_cfg

__all__ = [
    'LRScales', 'lr_scales', 'set_lr_scale', 'set_test_lr_scale',
    'set_lr_ceiling', 'model_input_scale', 'resolved_model_cfg',
    'is_lr_preprocessor', 'lr_type_of'
]


class LRScales(NamedTuple):
    """The LR scales of a config's trained model.

    Attributes:
        train: Training ratio(s): one, or several drawn per batch.
        test: Ratio in validation, testing and deployment.
        teacher: The teacher's input ratio (a distiller; 1.0 for an HR
            teacher and for other configs).
    """
    train: Tuple[float, ...]
    test: float
    teacher: float = 1.0


def _scope(cfg: Config) -> str:
    return cfg.get('default_scope') or 'mmseg'


def _model_class(model_type, scope: str):
    return registered_class(MODELS, model_type, scope)


def is_lr_preprocessor(dp_cfg, scope: str) -> bool:
    """Whether a data preprocessor config makes an LR view (asks the
    registry for its class)."""
    if not dp_cfg:
        return False
    cls = _model_class(dp_cfg.get('type'), scope)
    return isinstance(cls, type) and issubclass(cls, LRViewMixin)


def _scales_of(dp_cfg) -> Tuple[Tuple[float, ...], float]:
    scale = dp_cfg.get('scale_factor', 0.5)
    train = tuple(check_scale_factor(s) for s in (
        scale if isinstance(scale, (list, tuple)) else [scale]))
    test = dp_cfg.get('test_scale_factor')
    if test is None:
        if len(train) > 1:
            raise ValueError(
                f'data_preprocessor.scale_factor={list(train)} draws a ratio '
                'per batch: set data_preprocessor.test_scale_factor.')
        test = train[0]
    return train, check_scale_factor(test)


def lr_type_of(dp_cfg, model_cfg, scope: str) -> str:
    """The LR data preprocessor of a plain one's task (an mmseg or an
    mmpretrain one; untyped: the model class's default)."""
    from mmpretrain.models.classifiers import BaseClassifier
    from mmpretrain.models.utils.data_preprocessor import \
        ClsDataPreprocessor
    from mmseg.models.data_preprocessor import SegDataPreProcessor
    from mmseg.models.segmentors import BaseSegmentor
    cls = _model_class(dp_cfg.get('type'), scope)
    if cls is None:  # untyped: the model class picks its default
        cls = _model_class(model_cfg.get('type'), scope)
    if isinstance(cls, type) and issubclass(
            cls, (SegDataPreProcessor, BaseSegmentor)):
        return 'rkd_mm.LRSegDataPreProcessor'
    if isinstance(cls, type) and issubclass(
            cls, (ClsDataPreprocessor, BaseClassifier)):
        return 'rkd_mm.LRClsDataPreProcessor'
    raise TypeError(
        f'No LR data preprocessor for {cls}: set the student\'s '
        "data_preprocessor to type='rkd_mm.LRSegDataPreProcessor' or "
        "'rkd_mm.LRClsDataPreProcessor' with its scale_factor.")


def lr_scales(cfg: Config) -> LRScales:
    """The LR scales of the model ``cfg`` trains (the student of a
    distiller; the model itself otherwise; ``(1.0,), 1.0`` for HR)."""
    scope = _scope(cfg)
    if is_distiller(cfg):
        student_dp = resolved_model_cfg(cfg, 'student').get(
            'data_preprocessor')
        train, test = _scales_of(student_dp) if is_lr_preprocessor(
            student_dp, scope) else ((1.0, ), 1.0)
        teacher_dp = resolved_model_cfg(cfg, 'teacher').get(
            'data_preprocessor')
        teacher = _scales_of(teacher_dp)[1] if is_lr_preprocessor(
            teacher_dp, scope) else 1.0
        return LRScales(train, test, teacher)
    dp = cfg.model.get('data_preprocessor') or cfg.get('data_preprocessor')
    if is_lr_preprocessor(dp, scope):
        return LRScales(*_scales_of(dp))
    return LRScales((1.0, ), 1.0)


def model_input_scale(cfg: Config) -> float:
    """The ratio of the deployed network's input to the test pipeline's
    image: the test scale for a config whose model makes its LR view (an
    LR preprocessor, a distiller's student), 1 for an HR model and for an
    LR ceiling (its LR view is brought back to HR)."""
    if is_distiller(cfg):
        return lr_scales(cfg).test
    dp = cfg.model.get('data_preprocessor') or cfg.get('data_preprocessor')
    if not is_lr_preprocessor(dp, _scope(cfg)) or dp.get('upsample_back'):
        return 1.0  # HR, or the LR view brought back to HR (a ceiling)
    return lr_scales(cfg).test


def _set(cfg: Config, scale: Union[float, Sequence[float]],
         test: Optional[float], test_only: bool) -> None:
    scope = _scope(cfg)
    if isinstance(scale, (list, tuple)):
        value = [check_scale_factor(s, 'scale') for s in scale]
    else:
        value = check_scale_factor(scale, 'scale')
    new = {'test_scale_factor': test if not test_only else value}
    if not test_only:
        new['scale_factor'] = value
    if is_distiller(cfg):
        student = cfg.model.student
        student.setdefault('data_preprocessor', ConfigDict())
        student.data_preprocessor.update(new)
        return
    if cfg.model.get('data_preprocessor') is None and \
            is_lr_preprocessor(cfg.get('data_preprocessor'), scope):
        cfg.data_preprocessor.update(new)
        return
    if is_lr_preprocessor(cfg.model.get('data_preprocessor'), scope):
        cfg.model.data_preprocessor.update(new)
        return
    raise ValueError(
        f'{cfg.filename}: its model sees the HR image (no LR data '
        'preprocessor), so it has no LR scale to set. Give the model '
        "data_preprocessor=dict(type='rkd_mm.LRSegDataPreProcessor' (or "
        "'rkd_mm.LRClsDataPreProcessor'), scale_factor=...), as the "
        'LR-only configs under configs/baselines/ do.')


def set_lr_scale(cfg: Config, scale: Union[float, Sequence[float]],
                 test_scale: Optional[float] = None) -> None:
    """Set the training and test scale of ``cfg``'s LR model in place
    (``test_scale`` defaults to ``scale``; required for a list)."""
    _set(cfg, scale, test_scale, test_only=False)


def set_lr_ceiling(cfg: Config, scale: float,
                   upsample_back: str = 'bilinear') -> None:
    """Turn an HR config (the teacher's) into its *LR-information ceiling*
    at ``scale``, in place: the same network, schedule and input size, fed
    the LR view brought back to the HR size (``upsample_back``), in
    training and testing alike.

    The model's data preprocessor becomes the LR one of its task (its own
    arguments kept) with ``scale_factor=scale`` and ``upsample_back``.
    What this model scores is what any network of the teacher's capacity
    can learn from the student's pixels: the part of the teacher - LR-only
    gap that distillation can reach at all.
    """
    scope = _scope(cfg)
    if is_distiller(cfg):
        raise ValueError(f'{cfg.filename}: an LR ceiling is made from the '
                         "teacher's own config, not a distiller.")
    dp = cfg.model.get('data_preprocessor')
    if dp is None:  # mmpretrain: the top-level one, which the Runner hands
        dp = cfg.get('data_preprocessor')  # to the model
    dp = ConfigDict(dp or {})
    if is_lr_preprocessor(dp, scope):
        raise ValueError(f'{cfg.filename}: its model sees an LR view '
                         'already; an LR ceiling starts from the HR config.')
    dp.type = lr_type_of(dp, cfg.model, scope)
    dp.scale_factor = check_scale_factor(scale, 'scale')
    dp.test_scale_factor = dp.scale_factor
    dp.upsample_back = upsample_back
    cfg.model.data_preprocessor = dp


def set_test_lr_scale(cfg: Config, scale: float) -> None:
    """Set only the scale at which ``cfg``'s model is validated and tested
    (a resolution sweep of trained weights)."""
    _set(cfg, scale, None, test_only=True)
