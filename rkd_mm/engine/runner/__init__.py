from .distill_loops import DistillTestLoop, DistillValLoop

__all__ = ['DistillTestLoop', 'DistillValLoop']
