from .feature_recorder import FeatureRecorder
from .resolution_aware_distiller import (ResolutionAwareDistiller,
                                         split_student_state)
from .teacher_cache import TeacherOutputCache

__all__ = [
    'FeatureRecorder', 'ResolutionAwareDistiller', 'TeacherOutputCache',
    'split_student_state'
]
