from .cls_panel_visualization_hook import ClsPanelVisualizationHook
from .non_finite_loss_hook import NonFiniteLossError, NonFiniteLossHook
from .num_class_check_hook import NumClassCheckHook
from .progress_bar_hook import ProgressBarHook
from .resume_check_hook import ResumeCheckHook
from .retrieval_visualization_hook import RetrievalVisualizationHook
from .rng_state_hook import RNGStateHook
from .seg_panel_visualization_hook import SegPanelVisualizationHook
from .strict_load_hook import StrictLoadHook, register_strict_load_hook
from .teacher_cache_hook import TeacherCacheHook

__all__ = [
    'ClsPanelVisualizationHook', 'NonFiniteLossError', 'NonFiniteLossHook',
    'NumClassCheckHook', 'ProgressBarHook', 'ResumeCheckHook',
    'RetrievalVisualizationHook', 'RNGStateHook',
    'SegPanelVisualizationHook', 'StrictLoadHook', 'TeacherCacheHook',
    'register_strict_load_hook'
]
