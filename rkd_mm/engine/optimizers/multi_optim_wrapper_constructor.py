"""One optimizer wrapper per sub-model (student, discriminator, ...)."""
from typing import Optional

from mmengine.optim import DefaultOptimWrapperConstructor, OptimWrapperDict
from torch import nn

from rkd_mm.registry import OPTIM_WRAPPER_CONSTRUCTORS


@OPTIM_WRAPPER_CONSTRUCTORS.register_module()
class MultiOptimWrapperConstructor:
    """Build an ``OptimWrapperDict`` with one wrapper per top-level module.

    The same contract as mmagic's constructor of this name: every key of the
    ``optim_wrapper`` config (besides ``constructor``) names a sub-module of
    the model and holds that wrapper's config, e.g.::

        optim_wrapper = dict(
            constructor='rkd_mm.MultiOptimWrapperConstructor',
            student=dict(type='OptimWrapper', optimizer=dict(type='AdamW',
                                                             lr=1e-3)),
            discriminator=dict(type='OptimWrapper',
                               optimizer=dict(type='Adam', lr=2e-4)))

    Connectors belong to the student's side of the game: if the model has
    ``connectors`` with parameters and the config has no ``connectors`` key,
    they join the ``student`` optimizer. A module with trainable parameters
    and no optimizer (other than a frozen teacher) is an error, as is a key
    that names no attribute of the model. A key whose config is None, or
    whose module is None (e.g. ``discriminator=None`` in an ablation), is
    skipped.

    Args:
        optim_wrapper_cfg: ``{module name: wrapper config}``.
        paramwise_cfg: Must be None; give ``paramwise_cfg`` per wrapper.
    """

    def __init__(self, optim_wrapper_cfg: dict,
                 paramwise_cfg: Optional[dict] = None) -> None:
        if paramwise_cfg is not None:
            raise ValueError('Give paramwise_cfg inside each wrapper config '
                             '(e.g. student=dict(..., paramwise_cfg=...)).')
        self.optim_wrapper_cfg = optim_wrapper_cfg

    def __call__(self, model: nn.Module) -> OptimWrapperDict:
        if hasattr(model, 'module'):
            model = model.module
        wrappers = {}
        cfgs = dict(self.optim_wrapper_cfg)
        connectors = getattr(model, 'connectors', None)
        fold_connectors = 'connectors' not in cfgs and connectors is not None \
            and any(p.requires_grad for p in connectors.parameters())
        for key, cfg in cfgs.items():
            if not hasattr(model, key):
                raise KeyError(f'optim_wrapper.{key}: the model has no '
                               f'sub-module {key!r}.')
            sub = getattr(model, key)
            if cfg is None or sub is None:
                continue  # switched off (e.g. discriminator=None)
            if key == 'student' and fold_connectors:
                sub = nn.ModuleDict(dict(student=sub, connectors=connectors))
            cfg = dict(cfg)
            paramwise = cfg.pop('paramwise_cfg', None)
            wrappers[key] = DefaultOptimWrapperConstructor(cfg, paramwise)(sub)
        covered = set(cfgs) | ({'connectors'} if fold_connectors else set())
        for name, child in model.named_children():
            if name in covered or name == 'teacher':
                continue
            if any(p.requires_grad for p in child.parameters()):
                raise KeyError(
                    f'model.{name} has trainable parameters but optim_wrapper'
                    f' has no {name!r} entry: add {name}=dict(type='
                    "'OptimWrapper', optimizer=...).")
        return OptimWrapperDict(**wrappers)
