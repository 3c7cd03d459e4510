from .feature_recorder import FeatureRecorder
from .resolution_aware_distiller import (ResolutionAwareDistiller,
                                         split_student_state)

__all__ = ['FeatureRecorder', 'ResolutionAwareDistiller',
           'split_student_state']
