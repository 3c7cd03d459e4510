"""One optimizer wrapper per sub-model (student, discriminator, ...)."""
from typing import Dict, Optional

from mmengine.optim import DefaultOptimWrapperConstructor, OptimWrapperDict
from torch import nn

from rkd_mm.registry import OPTIM_WRAPPER_CONSTRUCTORS


@OPTIM_WRAPPER_CONSTRUCTORS.register_module()
class MultiOptimWrapperConstructor:
    """Build an ``OptimWrapperDict`` with one wrapper per part of a model.

    The same contract as mmagic's constructor of this name: every key of the
    ``optim_wrapper`` config (besides ``constructor``) names a part of the
    model and holds that wrapper's config, e.g.::

        optim_wrapper = dict(
            constructor='rkd_mm.MultiOptimWrapperConstructor',
            student=dict(type='OptimWrapper', optimizer=dict(type='AdamW',
                                                             lr=1e-3)),
            discriminator=dict(type='OptimWrapper',
                               optimizer=dict(type='Adam', lr=2e-4)))

    The parts are the model's ``trainable_parts()`` where it has that
    method (a :class:`~rkd_mm.models.ResolutionAwareDistiller`: ``student``,
    ``connectors``, ``discriminator``), else its direct sub-modules.
    Connectors belong to the student's side of the game: with parameters
    and no ``connectors`` key of their own, they join the ``student``
    wrapper (after the student's parameters). A trainable parameter that no
    wrapper covers (other than a frozen teacher's) is an error, as is a key
    that names no part. A key whose config is None, or whose part is None
    (e.g. no discriminator), is skipped.

    Args:
        optim_wrapper_cfg: ``{part name: wrapper config}``.
        paramwise_cfg: Must be None; give ``paramwise_cfg`` per wrapper.
    """

    def __init__(self, optim_wrapper_cfg: dict,
                 paramwise_cfg: Optional[dict] = None) -> None:
        if paramwise_cfg is not None:
            raise ValueError('Give paramwise_cfg inside each wrapper config '
                             '(e.g. student=dict(..., paramwise_cfg=...)).')
        self.optim_wrapper_cfg = optim_wrapper_cfg

    @staticmethod
    def parts_of(model: nn.Module) -> Dict[str, Optional[nn.Module]]:
        """The model's parts by name."""
        if hasattr(model, 'trainable_parts'):
            return dict(model.trainable_parts())
        return dict(model.named_children())

    def __call__(self, model: nn.Module) -> OptimWrapperDict:
        if hasattr(model, 'module'):
            model = model.module
        parts = self.parts_of(model)
        wrappers = {}
        cfgs = dict(self.optim_wrapper_cfg)
        connectors = parts.get('connectors')
        fold_connectors = 'connectors' not in cfgs and connectors is not None \
            and any(p.requires_grad for p in connectors.parameters())
        covered = set()
        for key, cfg in cfgs.items():
            if key not in parts:
                raise KeyError(f'optim_wrapper.{key}: the model has no part '
                               f'{key!r} (it has {sorted(parts)}).')
            sub = parts[key]
            if cfg is None or sub is None:
                continue  # switched off (e.g. discriminator=None)
            if key == 'student' and fold_connectors:
                sub = nn.ModuleDict(dict(student=sub, connectors=connectors))
            covered.update(id(p) for p in sub.parameters())
            cfg = dict(cfg)
            paramwise = cfg.pop('paramwise_cfg', None)
            wrappers[key] = DefaultOptimWrapperConstructor(cfg, paramwise)(sub)
        for name, param in model.named_parameters():
            if param.requires_grad and id(param) not in covered:
                part = name.split('.')[0]
                raise KeyError(
                    f'model parameter {name} is trainable but no optimizer '
                    f'wrapper trains it: add an optim_wrapper entry for its '
                    f'part (parts: {sorted(parts)}), e.g. {part}=dict(type='
                    "'OptimWrapper', optimizer=...).")
        return OptimWrapperDict(**wrappers)
