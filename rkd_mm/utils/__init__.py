from .compat import applied_shims, apply_all

# The latency helpers import mmengine and torch: they are loaded on first
# use, so that ``import rkd_mm`` applies the compat shims before either.
_LATENCY = ('architecture_key', 'benchmark_config', 'benchmark_models',
            'build_eval_model', 'deployed_model', 'latency_stats',
            'machine_info', 'measure_latency', 'time_interleaved')


def __getattr__(name: str):
    if name in _LATENCY:
        from . import latency
        return getattr(latency, name)
    raise AttributeError(f'module {__name__!r} has no attribute {name!r}')


__all__ = ['applied_shims', 'apply_all', *_LATENCY]
