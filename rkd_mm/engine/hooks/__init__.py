from .num_class_check_hook import NumClassCheckHook
from .progress_bar_hook import ProgressBarHook
from .rng_state_hook import RNGStateHook
from .teacher_cache_hook import TeacherCacheHook

__all__ = [
    'NumClassCheckHook', 'ProgressBarHook', 'RNGStateHook', 'TeacherCacheHook'
]
