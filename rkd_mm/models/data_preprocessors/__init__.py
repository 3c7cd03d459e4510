from .lr_data_preprocessor import (LRClsDataPreProcessor,
                                   LRSegDataPreProcessor, LRViewMixin,
                                   hr_copy, lr_preprocessor)

__all__ = [
    'LRViewMixin', 'LRSegDataPreProcessor', 'LRClsDataPreProcessor',
    'lr_preprocessor', 'hr_copy'
]
