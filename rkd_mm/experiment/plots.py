"""The figures of an experiment: the primary metric against GFLOPs and
against the LR scale, one line per method, mean and sd over seeds."""
import os
import os.path as osp
import re
from typing import List, Optional

from .spec import LABELS

__all__ = ['plot']


def _dodge(i: int, n: int, step: float) -> float:
    """Factor that spreads method ``i`` of ``n`` sideways on a log axis."""
    return 1.0 + step * (i - (n - 1) / 2)


def plot(rows: List[dict], work_root: str,
         metric: Optional[str] = None) -> List[str]:
    """``metric`` (default: the primary one) vs GFLOPs (teacher as
    reference) and vs scale (``plots/<metric>_vs_gflops.png``,
    ``..._vs_scale.png``); rows without it are left out."""
    import matplotlib
    matplotlib.use('Agg')
    import matplotlib.pyplot as plt
    metric = metric or rows[0]['metric']
    rows = [r for r in rows if r.get(metric) is not None]
    stem = re.sub(r'[^a-z0-9]+', '_', metric.lower())
    out_dir = osp.join(work_root, 'plots')
    os.makedirs(out_dir, exist_ok=True)
    teacher = [r for r in rows if r['method'] == 'teacher']
    students = [r for r in rows if r['method'] != 'teacher']
    methods = list(dict.fromkeys(r['method'] for r in students))
    markers = 'osD^v<>Pp*'

    fig, ax = plt.subplots(figsize=(6.5, 4.5))
    # every student at one scale has the same GFLOPs: spread the methods a
    # little sideways (log axis) so their markers do not hide each other
    for i, m in enumerate(methods):
        pts = [r for r in students if r['method'] == m and 'gflops' in r]
        dodge = _dodge(i, len(methods), 0.04)
        ax.errorbar([r['gflops'] * dodge for r in pts],
                    [r[metric] for r in pts],
                    yerr=[r[metric + '_std'] or 0.0 for r in pts],
                    fmt=markers[i % 10], capsize=3, label=LABELS.get(m, m))
    for r in teacher:
        if 'gflops' in r:
            ax.plot(r['gflops'], r[metric], 'k*', markersize=12,
                    label='teacher (HR)')
    ticks = {}
    for r in rows:
        if 'gflops' in r:
            ticks[r['gflops']] = 'HR' if r['method'] == 'teacher' else \
                f'×{r["scale"]:g}'
    ax.set_xscale('log')
    ax.set_xticks(sorted(ticks))
    ax.set_xticklabels([f'{g:.3g}\n{ticks[g]}' for g in sorted(ticks)])
    ax.minorticks_off()
    if ticks:
        ax.set_xlim(min(ticks) / 1.6, max(ticks) * 1.6)
    ax.set_xlabel('GFLOPs per image (log)')
    ax.set_ylabel(f'test {metric} (%)')
    ax.set_title(f'{metric} vs compute')
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8)
    vs_flops = osp.join(out_dir, f'{stem}_vs_gflops.png')
    fig.tight_layout()
    fig.savefig(vs_flops, dpi=120)
    plt.close(fig)

    fig, ax = plt.subplots(figsize=(6, 4.5))
    scales = sorted({r['scale'] for r in students})
    for i, m in enumerate(methods):
        pts = sorted((r for r in students if r['method'] == m),
                     key=lambda r: r['scale'])
        dodge = _dodge(i, len(methods), 0.03)  # equal scores stay visible
        ax.errorbar([r['scale'] * dodge for r in pts],
                    [r[metric] for r in pts],
                    yerr=[r[metric + '_std'] or 0.0 for r in pts],
                    fmt='-' + markers[i % 10], capsize=3,
                    label=LABELS.get(m, m))
    for r in teacher:
        ax.axhline(r[metric], color='k', linestyle='--',
                   label='teacher (HR)')
    ax.set_xscale('log')  # x0.5 -> x0.25 and x0.25 -> x0.125 look alike
    ax.set_xticks(scales)
    ax.set_xticklabels([f'×{s:g}' for s in scales])
    ax.minorticks_off()
    if scales:
        ax.set_xlim(min(scales) / 1.6, max(scales) * 1.6)
    ax.set_xlabel('LR scale factor (log)')
    ax.set_ylabel(f'test {metric} (%)')
    ax.set_title(f'{metric} vs input resolution')
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8)
    vs_scale = osp.join(out_dir, f'{stem}_vs_scale.png')
    fig.tight_layout()
    fig.savefig(vs_scale, dpi=120)
    plt.close(fig)
    return [vs_flops, vs_scale]
