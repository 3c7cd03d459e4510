from .compat import applied_shims, apply_all

__all__ = ['applied_shims', 'apply_all']
