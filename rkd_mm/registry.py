"""rkd_mm's registries: children of MMEngine's root registries.

Classes register into these with ``@MODELS.register_module()`` etc. The
``locations`` make MMEngine import the defining modules lazily the first
time a key such as ``'rkd_mm.SyntheticDefectDataset'`` is looked up, so a
config can name rkd_mm components while its ``default_scope`` stays the
task library's (``mmseg`` / ``mmpretrain``), exactly as mmrazor does.
"""
from mmengine.registry import DATA_SAMPLERS as MMENGINE_DATA_SAMPLERS
from mmengine.registry import DATASETS as MMENGINE_DATASETS
from mmengine.registry import EVALUATOR as MMENGINE_EVALUATOR
from mmengine.registry import HOOKS as MMENGINE_HOOKS
from mmengine.registry import LOOPS as MMENGINE_LOOPS
from mmengine.registry import METRICS as MMENGINE_METRICS
from mmengine.registry import MODEL_WRAPPERS as MMENGINE_MODEL_WRAPPERS
from mmengine.registry import MODELS as MMENGINE_MODELS
from mmengine.registry import \
    OPTIM_WRAPPER_CONSTRUCTORS as MMENGINE_OPTIM_WRAPPER_CONSTRUCTORS
from mmengine.registry import OPTIM_WRAPPERS as MMENGINE_OPTIM_WRAPPERS
from mmengine.registry import OPTIMIZERS as MMENGINE_OPTIMIZERS
from mmengine.registry import PARAM_SCHEDULERS as MMENGINE_PARAM_SCHEDULERS
from mmengine.registry import TRANSFORMS as MMENGINE_TRANSFORMS
from mmengine.registry import Registry

__all__ = [
    'DATASETS', 'DATA_SAMPLERS', 'TRANSFORMS', 'MODELS', 'MODEL_WRAPPERS',
    'OPTIMIZERS', 'OPTIM_WRAPPERS', 'OPTIM_WRAPPER_CONSTRUCTORS',
    'PARAM_SCHEDULERS', 'HOOKS', 'LOOPS', 'METRICS', 'EVALUATOR',
    'registered_class'
]

DATASETS = Registry(
    'dataset', parent=MMENGINE_DATASETS, locations=['rkd_mm.datasets'])
DATA_SAMPLERS = Registry(
    'data sampler',
    parent=MMENGINE_DATA_SAMPLERS,
    locations=['rkd_mm.datasets'])
TRANSFORMS = Registry(
    'transform',
    parent=MMENGINE_TRANSFORMS,
    locations=['rkd_mm.datasets'])
MODELS = Registry('model', parent=MMENGINE_MODELS, locations=['rkd_mm.models'])
MODEL_WRAPPERS = Registry(
    'model wrapper',
    parent=MMENGINE_MODEL_WRAPPERS,
    locations=['rkd_mm.models'])
OPTIMIZERS = Registry(
    'optimizer', parent=MMENGINE_OPTIMIZERS, locations=['rkd_mm.engine'])
OPTIM_WRAPPERS = Registry(
    'optim wrapper', parent=MMENGINE_OPTIM_WRAPPERS,
    locations=['rkd_mm.engine'])
OPTIM_WRAPPER_CONSTRUCTORS = Registry(
    'optimizer wrapper constructor',
    parent=MMENGINE_OPTIM_WRAPPER_CONSTRUCTORS,
    locations=['rkd_mm.engine'])
PARAM_SCHEDULERS = Registry(
    'parameter scheduler',
    parent=MMENGINE_PARAM_SCHEDULERS,
    locations=['rkd_mm.engine'])
HOOKS = Registry('hook', parent=MMENGINE_HOOKS, locations=['rkd_mm.engine'])
LOOPS = Registry('loop', parent=MMENGINE_LOOPS, locations=['rkd_mm.engine'])
METRICS = Registry(
    'metric', parent=MMENGINE_METRICS, locations=['rkd_mm.evaluation'])
EVALUATOR = Registry(
    'evaluator', parent=MMENGINE_EVALUATOR, locations=['rkd_mm.evaluation'])


def registered_class(registry: Registry, type_name, scope: str):
    """The class a config's ``type`` names, asked of ``registry`` in the
    config's ``scope`` (None when unknown): tools ask the class what it is,
    never the type string.

    An unprefixed name is looked up in ``scope`` (``'SegDataPreProcessor'``
    in an mmseg config): a child registry such as rkd_mm's does not search
    the scope's own registry for it by itself.
    """
    from mmengine.registry import DefaultScope
    if isinstance(type_name, type) or not type_name:
        return type_name or None
    name = type_name if '.' in type_name else f'{scope}.{type_name}'
    with DefaultScope.overwrite_default_scope(scope):
        try:
            return registry.get(name)
        except KeyError:
            return None
