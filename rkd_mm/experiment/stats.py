"""Statistics over seeds, as pure functions: mean and sample sd, the
paired difference with its Student-t interval, the share of a gap closed
with its interval, and how the report prints them."""
import math
from typing import Dict, List, Optional, Tuple

from .spec import LABELS

__all__ = [
    't975', 'mean_sd', 'interval', 'paired_difference', 'gap_closed',
    'fmt_mean_sd', 'fmt_n', 'fmt_diff', 'fmt_vs_best', 'fmt_gap'
]

# ----------------------------------------------------------------------
# statistics over seeds (pure functions)
# ----------------------------------------------------------------------
# t_{0.975, df} for df = 1..30 (scipy.stats.t.ppf, 6 decimals): used when
# scipy cannot be imported
T975 = (12.706205, 4.302653, 3.182446, 2.776445, 2.570582, 2.446912,
        2.364624, 2.306004, 2.262157, 2.228139, 2.200985, 2.178813,
        2.160369, 2.144787, 2.131450, 2.119905, 2.109816, 2.100922,
        2.093024, 2.085963, 2.079614, 2.073873, 2.068658, 2.063899,
        2.059539, 2.055529, 2.051831, 2.048407, 2.045230, 2.042272)
Z975 = 1.959963984540054  # standard normal 0.975 quantile


def t975(df: int, use_scipy: bool = True) -> float:
    """Student-t 0.975 quantile with ``df`` degrees of freedom.

    scipy's ``t.ppf`` when scipy imports (it comes with scikit-image);
    otherwise the table :data:`T975` for df <= 30 and, beyond, the
    Cornish-Fisher expansion of t around the normal quantile (error below
    1e-5 for df > 30).
    """
    if df < 1:
        raise ValueError(f'df={df}: a t interval needs at least 2 values.')
    if use_scipy:
        try:
            from scipy.stats import t
        except ImportError:
            pass
        else:
            return float(t.ppf(0.975, df))
    if df <= len(T975):
        return T975[df - 1]
    z = Z975
    return (z + (z**3 + z) / (4 * df) +
            (5 * z**5 + 16 * z**3 + 3 * z) / (96 * df**2) +
            (3 * z**7 + 19 * z**5 + 17 * z**3 - 15 * z) / (384 * df**3))


def mean_sd(values: List[float]) -> Tuple[float, Optional[float]]:
    """Mean and sample standard deviation (ddof=1; None for one value)."""
    if not values:
        raise ValueError('mean_sd needs at least one value.')
    n = len(values)
    mean = sum(values) / n
    if n < 2:
        return mean, None
    return mean, math.sqrt(sum((v - mean)**2 for v in values) / (n - 1))


def paired_difference(values: Dict[object, float],
                      baseline: Dict[object, float]) -> Optional[dict]:
    """Paired difference over the seeds both have.

    ``d_s = values[s] - baseline[s]``; returns ``n``, ``seeds``, ``mean``,
    ``sd`` (None for n=1) and the 95 % Student-t interval ``lo``/``hi``
    (``mean -/+ t(0.975, n-1) * sd / sqrt(n)``; None for n=1), or None
    when no seed is shared.
    """
    seeds = sorted(set(values) & set(baseline), key=str)
    if not seeds:
        return None
    diffs = [values[s] - baseline[s] for s in seeds]
    return dict(interval(diffs), seeds=seeds)


def interval(values: List[float]) -> dict:
    """Mean, sample sd and the 95 % Student-t interval of ``values``
    (``n``; ``sd``/``lo``/``hi`` None for one value)."""
    mean, sd = mean_sd(values)
    out = dict(n=len(values), mean=mean, sd=sd, lo=None, hi=None)
    if sd is not None:
        half = t975(len(values) - 1) * sd / math.sqrt(len(values))
        out.update(lo=mean - half, hi=mean + half)
    return out


def gap_closed(values: Dict[object, float], baseline: Dict[object, float],
               reference) -> Optional[dict]:
    """The share of the gap from LR-only to ``reference`` that a method
    closes, per seed, with its 95 % interval over seeds.

    ``r_s = (values[s] - baseline[s]) / (ref_s - baseline[s])`` over the
    seeds both have: 0 is LR-only, 1 the reference. ``reference`` is one
    score (the teacher) or scores by seed (the LR ceiling); a seed it lacks
    takes the mean of its seeds (then its own spread is not in the
    interval). Returns :func:`interval` of the ``r_s`` (and ``seeds``), or
    None when nothing can be divided.

    A share of a gap that is not there has no meaning: where the reference
    is not above LR-only (``ref_s - baseline[s] <= 0``; the LR ceiling can
    be, when the student's network already gets all the LR pixels hold)
    the ratio would flip its sign or explode, so instead of a number the
    result says so: ``mean``/``lo``/``hi`` None and ``no_gap`` the seeds
    where LR-only reaches the reference (``gap`` their differences).
    """
    if isinstance(reference, dict):
        if not reference:
            return None
        mean_ref = sum(reference.values()) / len(reference)
        ref_of = {s: reference.get(s, mean_ref) for s in values}
    else:
        ref_of = {s: reference for s in values}
    seeds = sorted(set(values) & set(baseline), key=str)
    if not seeds:
        return None
    no_gap = [s for s in seeds if ref_of[s] <= baseline[s]]
    if no_gap:
        return dict(n=len(seeds), mean=None, sd=None, lo=None, hi=None,
                    seeds=seeds, no_gap=no_gap,
                    gap={s: ref_of[s] - baseline[s] for s in no_gap})
    ratios = [(values[s] - baseline[s]) / (ref_of[s] - baseline[s])
              for s in seeds]
    return dict(interval(ratios), seeds=seeds)


def fmt_mean_sd(mean: float, sd: Optional[float]) -> str:
    """``49.80 ± 0.35``; one seed: the value alone."""
    return f'{mean:.2f}' if sd is None else f'{mean:.2f} ± {sd:.2f}'


def fmt_n(n: int) -> str:
    return '1 seed (indication)' if n == 1 else str(n)


def fmt_diff(diff: Optional[dict], n: Optional[int] = None) -> str:
    """``+2.00 [-0.48, +4.48]``; one seed: ``+0.65 (1 seed)``; ``n``: the
    row's seeds, the paired count is added where it differs."""
    if diff is None:
        return '—'
    if diff['lo'] is None:
        return f'{diff["mean"]:+.2f} (1 seed)'
    text = f'{diff["mean"]:+.2f} [{diff["lo"]:+.2f}, {diff["hi"]:+.2f}]'
    return text if diff['n'] == n else f'{text} (n={diff["n"]})'


def fmt_vs_best(diff: Optional[dict], n: Optional[int] = None) -> str:
    """The paired difference to the strongest baseline, naming it."""
    if diff is None:
        return '—'
    name = LABELS.get(diff['method'], diff['method'])
    return f'{fmt_diff(diff, n)} vs {name}'


def fmt_gap(gap: Optional[dict], n: Optional[int] = None) -> str:
    """``10.2 % [-4.0, +24.4]``; one seed: ``10.2 % (1 seed)``."""
    if gap is None:
        return '—'
    if gap.get('no_gap'):
        seeds = gap['no_gap']
        return (f'no gap: reference ≤ LR-only at seed'
                f'{"s" if len(seeds) > 1 else ""} '
                f'{", ".join(map(str, seeds))} of {gap["n"]}')
    text = f'{100 * gap["mean"]:.1f} %'
    if gap['lo'] is None:
        return f'{text} (1 seed)'
    text += f' [{100 * gap["lo"]:+.1f}, {100 * gap["hi"]:+.1f}]'
    return text if n is None or gap['n'] == n else f'{text} (n={gap["n"]})'
