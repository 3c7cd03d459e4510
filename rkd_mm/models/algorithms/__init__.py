from .feature_recorder import FeatureRecorder
from .resolution_aware_distiller import ResolutionAwareDistiller
from .teacher_cache import TeacherOutputCache

__all__ = ['FeatureRecorder', 'ResolutionAwareDistiller', 'TeacherOutputCache']
