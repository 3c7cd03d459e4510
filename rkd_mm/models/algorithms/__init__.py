from rkd_mm.utils.checkpoint import split_student_state
from .feature_recorder import FeatureRecorder
from .resolution_aware_distiller import ResolutionAwareDistiller
from .teacher_cache import TeacherOutputCache

__all__ = [
    'FeatureRecorder', 'ResolutionAwareDistiller', 'TeacherOutputCache',
    'split_student_state'
]
