"""What a config's model is: a distiller or a plain model, and the student
and teacher configs a distiller builds."""
from mmengine.config import Config, ConfigDict
from mmengine.registry import MODELS, DefaultScope

from rkd_mm.models.algorithms import ResolutionAwareDistiller
from rkd_mm.models.algorithms.teacher_loading import resolve_model_cfg

__all__ = ['is_distiller', 'resolved_model_cfg']


def is_distiller(cfg: Config) -> bool:
    """Whether the config's model is a distiller: its class (asked of the
    registry, in the config's scope) is a ``ResolutionAwareDistiller`` or a
    subclass, whatever name it is registered under."""
    model_type = cfg.model.get('type')
    if isinstance(model_type, type):  # a class in a pure-Python config
        cls = model_type
    else:
        scope = cfg.get('default_scope', 'mmseg')
        with DefaultScope.overwrite_default_scope(scope):
            cls = MODELS.get(model_type)
    return isinstance(cls, type) and issubclass(cls,
                                                ResolutionAwareDistiller)


def resolved_model_cfg(cfg: Config, role: str) -> ConfigDict:
    """``model.student`` / ``model.teacher`` of a distiller config as the
    distiller builds it (``cfg_path`` resolved, overrides merged)."""
    model_cfg, _ = resolve_model_cfg(cfg.model[role], role)
    return ConfigDict(model_cfg)
