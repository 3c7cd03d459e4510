"""Experiments: teacher, LR-only, KD baselines, RKD and the reference
models of one protocol, over scales and seeds, into one table.

The library behind ``tools/run_experiment.py`` (its command line)::

    python tools/run_experiment.py CONFIG [--scales 0.5 0.25]
        [--methods lr_only kd rkd] [--seeds 0 1] [--work-dir DIR]
        [--iters N] [--target-ratio R [METHOD=R ...]] [--jobs N]
        [--cfg-options key=value ...]

``CONFIG`` is an RKD (distiller) config; it fixes the data, the teacher, the
student, the schedule and the optimizer of *every* run, so all methods share
one protocol:

* ``teacher``: trained with its own config (``model.teacher.cfg_path``) if
  ``model.teacher_ckpt`` does not exist yet, into the folder that pattern
  points at (so the RKD configs find it later), then scored at HR;
* ``lr_only``: the student's own config (``model.student.cfg_path``) at the
  scale;
* a KD baseline (``kd``, ``fitnet``, ``at``, ``relkd``, ``cwd``, ``dkd``)
  or ``rkd_dense`` (dense CRKD with its MMD term): ``CONFIG`` with the
  method's ``model.distiller`` block (taps, connectors, losses, loss
  inputs, adversarial part) taken from the recipe config that CONFIG's
  ``method_recipes`` names for it (ours name ``configs/kd_baselines/`` and
  ``configs/rkd/ablations/`` files; a method without a recipe is refused);
* ``rkd``: ``CONFIG`` itself;
* two reference models without distillation, which split the teacher -
  LR-only gap: ``lr_ceiling``, the teacher's config (network, schedule,
  input size and cost) trained and tested on the LR image brought back to
  HR size (bilinear; :func:`rkd_mm.apis.lr_scale.set_lr_ceiling`) -- the
  student's information with the teacher's capacity, the most any
  distillation can reach from these pixels -- and ``hr_student``, the
  student's config trained on the HR image (scale 1; one run per seed
  for every scale). Like the teacher they are trained once, in
  ``--reference-dir`` (``work_dirs/reference_models/<config>_<run>_<hash>/``
  by default), and reused by every work dir that plans the same
  configuration.

The scales default to CONFIG's own (its student's LR data preprocessor; its
weights were set for that scale; another scale prints a note: calibrate
with ``--target-ratio`` or pass that scale's config). Every student run gets
its scale (:func:`rkd_mm.apis.lr_scale.set_lr_scale`: the student's
``data_preprocessor.scale_factor``) and ``randomness.seed`` set, is trained
with ``tools/train.py`` and scored on the
test split with ``tools/test.py`` (best-on-val checkpoint). Each run lives in
``WORK_DIR/runs/<method>_x<scale>_s<seed>/`` with its frozen ``config.py``;
``result.json`` marks it finished and is never rewritten: rerunning skips
finished runs and resumes interrupted ones. One work dir holds one
protocol: a run whose planned config differs from the one frozen in its
folder (another ``--iters``, other ``--cfg-options``) stops the runner
with the differing keys, before anything runs. At the end it writes
``WORK_DIR/results.md``, ``results.csv`` and two plots under
``WORK_DIR/plots/``: per (method, scale) the test score's mean ± sample
std over seeds and n (one seed is marked as an indication) — the score
is the metric CONFIG selects checkpoints by (``save_best``: ``mIoU`` for
segmentation, ``accuracy`` for classification; macro-F1, AUROC and
per-class IoU or F1 are shown beside it when reported) — the paired
difference to LR-only at the same scale over shared seeds with its 95 %
Student-t interval, the share of the teacher–LR-only gap closed and of the
LR ceiling–LR-only gap (each with its interval), GFLOPs, parameters and
CPU latency. Latency is measured once per distinct
(architecture, input size) of the deployed models (LR-only and every
distiller with the same student at one scale share one), all of them and
the teacher interleaved round by round in one session (``cost.json``).

Each run records the CPU that trained it (model, instruction set, torch
and oneDNN versions, instruction-set caps such as ``ONEDNN_MAX_CPU_ISA``:
:func:`rkd_mm.utils.machine.cpu_numerics`); a table whose runs were
trained on different CPUs is refused (their rounding differs by as much as
a method's effect) unless ``--allow-mixed-cpus``, and the table names the
machine. Each run records the torch threads it trained with
(``OMP_NUM_THREADS``, inherited by its tools); a table whose students mix
thread counts says so in a warning: set it alike for every run of a work
dir (two 1-thread runners, e.g. one per scale, use 2 cores best).

``--iters N`` sets every *student* schedule to N iterations (LR schedule,
validation/checkpoint intervals and the distillation warm-up are rescaled
in proportion; e.g. ``--iters 400`` for a quick look, the configs' own
schedule being 2,000); the teacher keeps its own schedule.
``--jobs N`` trains N student runs at a time once the teacher exists (each
with ``OMP_NUM_THREADS`` torch threads if it is set, else the runner's
threads divided by N: ``--jobs 2`` on 2 cores gives two 1-thread runs,
which use the cores better than one 2-thread run). Calibrations run first,
one at a time; then the first distiller run of each teacher cache (seeds
and methods with the same taps share one) starts together with a job that
fills that cache ahead of it on another core
(``tools/fill_teacher_cache.py`` at the runs' thread count), so that the
run reads the teacher more and more instead of computing it on its one
core; the other runs follow in plan order. A failing run stops new ones
from starting, lets the running ones end, and is reported; Ctrl-C or
``kill`` stops them all.

``--cfg-options`` go to every run (teacher included) for keys all configs
share (data root, batch size); ``model.*`` keys go to the distiller runs only
(the teacher and LR-only configs have other model fields).

The package, one concern per module: :mod:`.spec` (the methods, the
arguments and one run; it imports no other module of the package),
:mod:`.plan` (runs and their configs, one protocol per work dir),
:mod:`.calibrate` (the weight rule), :mod:`.process` (child processes,
progress), :mod:`.execute` (training and testing runs, N at a time, teacher-
cache fills), :mod:`.stats` (statistics over seeds), :mod:`.cost` (GFLOPs,
parameters, latency), :mod:`.report` (rows, tables), :mod:`.plots` and
:mod:`.compare` (students across scales, for
``tools/analysis_tools/compare_resolutions.py``).
"""
from .execute import run_experiment
from .plan import build_plan, check_protocol
from .report import MixedMachinesError, aggregate, write_reports
from .spec import (LABELS, METHODS, PLAIN_METHODS, REFERENCE_METHODS,
                   ExperimentSpec, Run)
from .stats import gap_closed, interval, mean_sd, paired_difference, t975

__all__ = [
    'ExperimentSpec', 'Run', 'build_plan', 'check_protocol',
    'run_experiment', 'aggregate', 'write_reports', 'MixedMachinesError',
    'gap_closed',
    'interval', 'mean_sd', 'paired_difference', 't975', 'LABELS', 'METHODS',
    'PLAIN_METHODS', 'REFERENCE_METHODS'
]
