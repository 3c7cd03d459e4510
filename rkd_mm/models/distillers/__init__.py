from .configurable_distiller import (GT, LR_SUFFIX, LR_VIEW,
                                     ConfigurableDistiller, LossInput,
                                     parse_loss_input)

__all__ = [
    'ConfigurableDistiller', 'LossInput', 'parse_loss_input', 'GT',
    'LR_VIEW', 'LR_SUFFIX'
]
