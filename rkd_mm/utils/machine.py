"""Which CPU a run's numbers come from.

The same config and seed train to different numbers on different CPUs: the
vectorised kernels (oneDNN's convolutions, MKL's GEMMs, ATen's loops) pick
their instruction set (AVX2, AVX-512, AVX-512 with bf16, AMX) from the CPU
and round differently, and training amplifies the difference (seed 0 of the
x0.25 LR-only student: 39.74 test mIoU on an AMD EPYC, 38.23 on an Intel
Xeon; the teacher matched). A run records :func:`cpu_numerics`; runs are
compared in pairs only when :func:`numerics_key` agrees.
"""
import os
import platform
import re
from typing import Dict, Optional

import torch

__all__ = [
    'cpu_model', 'cpu_isa', 'onednn_version', 'numerics_env',
    'cpu_numerics', 'numerics_key', 'NUMERICS_ENV'
]

#: environment variables that change which kernels run (and so the
#: rounding): oneDNN's and MKL's instruction-set caps, MKL's conditional
#: numerical reproducibility, ATen's dispatch level
NUMERICS_ENV = ('ONEDNN_MAX_CPU_ISA', 'DNNL_MAX_CPU_ISA',
                'MKL_ENABLE_INSTRUCTIONS', 'MKL_CBWR', 'ATEN_CPU_CAPABILITY')

# CPU flags from the widest instruction set down: the first one present
# names the level (what oneDNN picks by default on that CPU)
_ISA_FLAGS = (('amx_tile', 'AMX'), ('avx512_bf16', 'AVX512_BF16'),
              ('avx512_vnni', 'AVX512_VNNI'), ('avx512f', 'AVX512'),
              ('avx2', 'AVX2'), ('avx', 'AVX'), ('sse4_2', 'SSE4.2'))


def _cpuinfo_field(name: str) -> Optional[str]:
    try:
        with open('/proc/cpuinfo') as f:
            for line in f:
                if line.startswith(name):
                    return line.split(':', 1)[1].strip()
    except OSError:  # not Linux
        return None
    return None


def cpu_model() -> str:
    """The CPU's model name (``/proc/cpuinfo``), else the platform's."""
    return _cpuinfo_field('model name') or platform.processor() or \
        platform.machine()


def cpu_isa() -> Optional[str]:
    """The widest vector instruction set the CPU offers (``AVX512_BF16``,
    ``AVX2``, ...), read from its flags; None where they cannot be read."""
    flags = _cpuinfo_field('flags')
    if flags is None:
        return None
    have = set(flags.split())
    return next((name for flag, name in _ISA_FLAGS if flag in have), 'other')


def onednn_version() -> Optional[str]:
    """The oneDNN (MKL-DNN) version torch was built with, e.g. ``v3.12.0``.
    """
    match = re.search(r'(?:oneDNN|MKL-DNN)\s+(v[\d.]+)',
                      torch.__config__.show())
    return match.group(1) if match else None


def numerics_env() -> Dict[str, str]:
    """The :data:`NUMERICS_ENV` variables that are set."""
    return {k: os.environ[k] for k in NUMERICS_ENV if k in os.environ}


def cpu_numerics() -> Dict[str, object]:
    """What decides a CPU run's float rounding, besides the code and the
    torch threads (recorded on their own): CPU model and instruction set,
    ATen's dispatch level, torch and oneDNN versions, and the environment
    variables that cap the kernels' instruction set."""
    get = getattr(torch.backends.cpu, 'get_cpu_capability', None)
    return dict(cpu_model=cpu_model(), cpu_isa=cpu_isa(),
                aten_capability=get() if get is not None else None,
                torch=torch.__version__, onednn=onednn_version(),
                env=numerics_env())


def numerics_key(info: Optional[Dict[str, object]]) -> str:
    """One readable string per numerics (``'unknown'`` for a run that
    recorded none): runs with equal keys round alike."""
    if not info:
        return 'unknown'
    env = info.get('env') or {}
    caps = ''.join(f', {k}={v}' for k, v in sorted(env.items()))
    return (f"{info.get('cpu_model')} [{info.get('cpu_isa')}, ATen "
            f"{info.get('aten_capability')}{caps}] torch "
            f"{info.get('torch')}, oneDNN {info.get('onednn')}")
