"""ResolutionAwareDistiller: HR teacher -> LR student, adversarial + CRKD."""
import glob
import logging
import os.path as osp
from typing import Dict, List, Optional, Sequence, Tuple, Union

import torch
from mmengine.config import Config
from mmengine.logging import MessageHub, print_log
from mmengine.model import BaseModel, BaseModule, is_model_wrapper
from mmengine.optim import OptimWrapper, OptimWrapperDict
from mmengine.runner.checkpoint import load_state_dict
from torch import nn

from rkd_mm.datasets.transforms import check_scale_factor, upsample_tensor
from rkd_mm.registry import MODELS
from rkd_mm.utils.checkpoint import (fit_state_dict, read_checkpoint,
                                     state_dict_of)
# it lived here before rkd_mm.utils.checkpoint: the old import path works
from rkd_mm.utils.checkpoint import split_student_state  # noqa: F401
from rkd_mm.utils.rng import private_rng
from ..connectors import ConnectorDict
from ..data_preprocessors import (LRClsDataPreProcessor, LRSegDataPreProcessor,
                                  LRViewMixin, hr_copy, lr_preprocessor)
from ..task_adapters import build_task_adapter
from .distill_wiring import DistillWiring
from .feature_recorder import FeatureRecorder
from .teacher_cache import TeacherOutputCache

LR_SUFFIX = '@lr'  # teacher records on the LR view upsampled back to HR


@MODELS.register_module()
class ResolutionAwareDistiller(BaseModel):
    """Distil an HR teacher into an LR student (Resolution-aware KD).

    Each training step takes one augmented HR batch. The frozen teacher sees
    it at HR; the student sees the LR view of the *same* batch, made by its
    own LR data preprocessor (:class:`~rkd_mm.models.LRSegDataPreProcessor`
    / :class:`~rkd_mm.models.LRClsDataPreProcessor`, the one home of the LR
    scale: the student config is the LR-only config, so distilled and
    LR-only students see the same pixels), and learns its task from the HR
    ground truth (mmseg resizes its logits to the label size). On top:

    * distillation losses (``distill_losses``, e.g. the CRKD terms
      ``loss_kd`` + ``loss_pair`` + ``loss_mmd``) between recorded student and
      teacher tensors (``student_taps`` / ``teacher_taps``), the student's
      passed through a connector first where one is configured;
    * a discriminator trained to tell teacher (real) from student (fake)
      features at ``disc_tap``, and an adversarial loss that pushes the
      student to fool it.

    ``train_step`` follows mmagic's ``BaseGAN``: :meth:`train_discriminator`
    then :meth:`train_student`, each ending in ``update_params`` of its own
    optimizer wrapper (``OptimWrapperDict`` keys ``student``, which also
    trains the connectors, and ``discriminator``; built by
    :class:`~rkd_mm.engine.MultiOptimWrapperConstructor`).

    Validation and testing score the student on the LR view (metric names
    unchanged, e.g. ``mIoU``); :class:`~rkd_mm.engine.DistillValLoop` adds the
    teacher's HR score once as ``teacher/mIoU``.

    What depends on the task (running a model to its logits, the labels of
    a batch) is asked of a task adapter (:mod:`rkd_mm.models.task_adapters`),
    picked from the student's type: an mmseg segmentor or an mmpretrain
    classifier distils through the same code.

    Args:
        student: Student model config (an mmseg segmentor or an mmpretrain
            classifier whose ``data_preprocessor`` is an LR one, which sets
            the scale), or ``dict(cfg_path=CONFIG, **overrides)`` to take
            ``model`` from another config file (as mmrazor's
            ``cfg_path``), usually the LR-only config of the scale.
        teacher: Teacher model config, or ``dict(cfg_path=CONFIG)``. A
            teacher with an LR data preprocessor (a trained x0.5 student
            teaching a x0.25 one: a *teacher assistant*, Mirzadeh et al.,
            AAAI 2020) sees the LR view of each batch at its own
            ``test_scale_factor``, made with the same op; ``@lr`` taps then
            come from the student's view upsampled to the teacher's input
            size.
        teacher_ckpt: Trained teacher checkpoint; a glob pattern (e.g.
            ``work_dirs/t/best_mIoU_iter_*.pth``) takes the newest match. It
            is loaded at build time; a missing file or a mismatch stops with
            a message. ``None`` keeps a random teacher (tests and FLOP
            counting only).
        teacher_config: The teacher's config path, named in error messages
            (how to train the teacher); defaults to the teacher's
            ``cfg_path``.
        scale_factor: Deprecated (configs written before 2026-12-02): the
            scale lives in the student's data preprocessor. Accepted when it
            agrees with that, or when the student's preprocessor is not an
            LR one (it then becomes one at this scale); refused otherwise.
        test_scale_factor: Deprecated, as ``scale_factor``.
        teacher_scale_factor: Deprecated: the teacher's own LR
            preprocessor sets it; as ``scale_factor``.
        lr_resize: Deprecated; only ``'area'`` exists.
        student_taps: ``{name: tap}`` recorded on the student (see
            :class:`FeatureRecorder`).
        teacher_taps: ``{name: tap}`` recorded on the teacher.
        connectors: ``{name: connector config}``; a student loss input
            names the one it goes through (``connector='<name>'``). A
            connector's
            ``scale='auto'`` (e.g. ``rkd_mm.UpsampleConnector``) becomes the
            teacher's input size over the student's (2 at x0.5, 4 at x0.25
            with an HR teacher), the factor between their tap grids when
            both taps have the same stride; so a config at another LR scale
            changes only the student's scale.
        distill_losses: ``{name: loss config}``; logged as
            ``distill.<name>``. A loss set to ``None`` is switched off (its
            ``loss_inputs`` entry is then ignored).
        loss_inputs: ``{name: {argument: input}}`` for each distill loss,
            each input with an explicit side, e.g. ``preds_S=dict(
            from_student=True, tap='logits')``, ``preds_T=dict(
            from_student=False, tap='logits')``; a teacher input with
            ``view='lr'`` is recorded from an extra teacher forward on the
            student's LR view upsampled to the teacher's input size (for
            ``ResolutionAwareKDLoss``'s ``preds_T_lr``); ``'gt'`` passes the
            batch's ground truth (the task adapter's labels); an argument set
            to ``None`` is not passed. Checked at build time against the
            taps, the connectors and each loss's ``forward`` signature
            (:class:`~rkd_mm.models.algorithms.distill_wiring.
            DistillWiring`, which also reads the older bare-string form).
        discriminator: Discriminator config, or None for no adversarial
            training.
        adv_loss: ``AdversarialLoss`` config; its ``loss_weight`` weighs the
            student's adversarial term (``distill.loss_adv``).
        disc_tap: Tap name (on both models) the discriminator judges.
        disc_connector: Connector the student's disc input goes through.
        disc_steps: Discriminator updates per student update (the student
            is updated every ``disc_steps`` iterations, as mmagic).
        gen_steps: Student updates per iteration in which it trains.
        distill_warmup_iters: Distillation and adversarial weights rise
            linearly from 0 over this many iterations (0: off).
        data_preprocessor: The HR data preprocessor; defaults to the
            teacher's (at HR). Without a ``type`` (mmpretrain's top-level
            ``data_preprocessor`` convention) it is of the teacher's type.
            It must normalise as the student's does (checked).
        teacher_cache: Keyword arguments of :class:`TeacherOutputCache`
            (e.g. ``dict(cache_dir='work_dirs/teacher_cache')``) to reuse
            the teacher's taps for recurring inputs instead of running it;
            ``None`` runs the teacher every step. Sound for a finite
            augmentation set (flips); ``rkd_mm.TeacherCacheHook`` (in the
            RKD configs' ``custom_hooks``) switches it off for random
            augmentations. See docs/method.md.
        task_adapter: A task adapter config (e.g.
            ``dict(type='rkd_mm.SegmentationAdapter')``); ``None`` (the
            default) picks the adapter that accepts the student.
        init_cfg: MMEngine init config.
    """

    def __init__(self,
                 student: dict,
                 teacher: dict,
                 teacher_ckpt: Optional[str] = None,
                 teacher_config: Optional[str] = None,
                 scale_factor: Union[float, Sequence[float], None] = None,
                 test_scale_factor: Optional[float] = None,
                 teacher_scale_factor: Optional[float] = None,
                 lr_resize: Optional[str] = None,
                 student_taps: Optional[Dict[str, object]] = None,
                 teacher_taps: Optional[Dict[str, object]] = None,
                 connectors: Optional[Dict[str, dict]] = None,
                 distill_losses: Optional[Dict[str, dict]] = None,
                 loss_inputs: Optional[Dict[str, Dict[str, str]]] = None,
                 discriminator: Optional[dict] = None,
                 adv_loss: Optional[dict] = None,
                 disc_tap: str = 'feat',
                 disc_connector: Optional[str] = None,
                 disc_steps: int = 1,
                 gen_steps: int = 1,
                 distill_warmup_iters: int = 0,
                 data_preprocessor: Optional[dict] = None,
                 teacher_cache: Optional[dict] = None,
                 task_adapter: Optional[dict] = None,
                 init_cfg: Optional[dict] = None) -> None:
        student, student_path = resolve_model_cfg(student, 'student')
        teacher, teacher_path = resolve_model_cfg(teacher, 'teacher')
        typed = data_preprocessor is not None and \
            'type' in data_preprocessor
        super().__init__(
            data_preprocessor=data_preprocessor if typed else None,
            init_cfg=init_cfg)
        self.student = MODELS.build(student)
        # Paired runs: the student is built (and initialised, see
        # init_weights) from torch's global stream exactly as in its LR-only
        # run; everything else -- teacher, connectors, losses, discriminator
        # -- on a stream of its own, so that it cannot shift the student's
        # initial weights or its dropout masks.
        with private_rng('ResolutionAwareDistiller'):
            self.teacher = MODELS.build(teacher)
            self.task = build_task_adapter(task_adapter, self.student)
            if not self.task.accepts(self.teacher):
                raise TypeError(
                    f'The teacher ({type(self.teacher).__name__}) is not a '
                    f'model of the student\'s task ({type(self.task).__name__}'
                    f': {self.task.default_scope}); distil between models of '
                    'one task library.')
            if lr_resize not in (None, 'area'):
                raise ValueError(
                    f"lr_resize={lr_resize!r}: only 'area' exists.")
            _adopt_legacy_scale(self.student, student, 'student', scale_factor,
                                test_scale_factor)
            _adopt_legacy_scale(self.teacher, teacher, 'teacher',
                                teacher_scale_factor, None)
            if lr_preprocessor(self.student) is None:
                raise TypeError(
                    f'The student ({type(self.student).__name__}) has no LR '
                    'data preprocessor, so it would see the HR batch. Give it '
                    "one (data_preprocessor=dict(type='rkd_mm."
                    "LRSegDataPreProcessor', scale_factor=0.5), or "
                    'LRClsDataPreProcessor for a '
                    'classifier), or take the student from an LR-only config '
                    "(student=dict(cfg_path='configs/baselines/...')).")
            if data_preprocessor is None:
                # the HR batch is the teacher's: its own preprocessor at HR
                self.data_preprocessor = hr_copy(
                    self.teacher.data_preprocessor)
            elif not typed:
                # mmpretrain's convention (a top-level data_preprocessor
                # without a type, which the Runner hands to the model): the
                # type the model class picks, here the teacher's
                self.data_preprocessor = hr_copy(
                    type(self.teacher.data_preprocessor)(**data_preprocessor))
            for role in ('student', 'teacher'):
                _check_same_normalisation(
                    self.data_preprocessor,
                    getattr(self, role).data_preprocessor, role)
            self._teacher_cfg = teacher  # part of the cache's namespace
            self.teacher_config = teacher_config or teacher_path
            self.teacher_ckpt = resolve_checkpoint(teacher_ckpt)
            self._freeze_teacher()
            if self.teacher_ckpt is not None:
                self.load_teacher(self.teacher_ckpt)

            self.student_taps = dict(student_taps or {})
            self.teacher_taps = dict(teacher_taps or {})
            self.connectors = ConnectorDict(self._resolve_auto_scales(
                connectors))
            # a loss set to None is switched off (ablations by inheritance)
            enabled = {name: cfg
                       for name, cfg in (distill_losses or {}).items()
                       if cfg is not None}
            self.distill_losses = nn.ModuleDict(
                {name: MODELS.build(cfg) for name, cfg in enabled.items()})
            # inputs of switched-off losses are dropped; an argument set to
            # None is not passed (e.g. preds_T_lr=None with detail_weight=0
            # saves the teacher's forward on the LR view)
            loss_inputs = {k: v for k, v in (loss_inputs or {}).items()
                           if k in enabled or k not in (distill_losses or {})}
            self.discriminator = MODELS.build(discriminator) \
                if discriminator is not None else None
            self.adv_loss = MODELS.build(
                adv_loss or dict(type='rkd_mm.AdversarialLoss')) \
                if discriminator is not None else None
            self.disc_tap = disc_tap
            if disc_steps < 1 or gen_steps < 1:
                raise ValueError('disc_steps and gen_steps must be >= 1.')
            self.disc_steps, self.gen_steps = int(disc_steps), int(gen_steps)
            self.distill_warmup_iters = int(distill_warmup_iters)
            self.wiring = DistillWiring(
                self.student_taps, self.teacher_taps, self.connectors,
                self.distill_losses, loss_inputs,
                disc_tap if discriminator is not None else None,
                disc_connector)
            self.student_recorder = FeatureRecorder(
                self.student, self.student_taps, 'student')
            self.teacher_recorder = FeatureRecorder(
                self.teacher, self.teacher_taps, 'teacher')
            self.teacher_cache = TeacherOutputCache(**teacher_cache) \
                if teacher_cache is not None else None
            # drop the frozen teacher from checkpoints: it comes from
            # teacher_ckpt, and would double every checkpoint's size
            self._register_state_dict_hook(_drop_teacher_from_state_dict)
            self.register_load_state_dict_post_hook(_ignore_missing_teacher)

    # ------------------------------------------------------------------
    # construction helpers
    # ------------------------------------------------------------------
    @property
    def lr_preprocessor(self) -> LRViewMixin:
        """The student's data preprocessor: the home of the LR scale."""
        # unwrapped: MMSeparateDistributedDataParallel wraps the student
        return _unwrap(self.student).data_preprocessor

    @property
    def scale_factors(self) -> List[float]:
        """The student's training ratio(s)."""
        return self.lr_preprocessor.scale_factors

    @property
    def test_scale_factor(self) -> float:
        """The student's ratio in validation and testing."""
        return self.lr_preprocessor.test_scale_factor

    @property
    def teacher_scale_factor(self) -> Optional[float]:
        """The teacher's input ratio, ``None`` for an HR teacher."""
        pre = lr_preprocessor(_unwrap(self.teacher))
        return None if pre is None else pre.test_scale_factor

    def _resolve_auto_scales(self, connectors: Optional[Dict[str, dict]]
                             ) -> Optional[Dict[str, dict]]:
        """Connector configs with ``scale='auto'`` set to the teacher's
        input size over the student's."""
        if not connectors:
            return connectors
        out = {}
        for name, cfg in connectors.items():
            cfg = dict(cfg)
            if cfg.get('scale') == 'auto':
                if len(self.scale_factors) > 1:
                    raise ValueError(
                        f"connector {name!r}: scale='auto' needs one "
                        f'scale_factor, got {self.scale_factors}; give the '
                        'connector an explicit scale.')
                ratio = (self.teacher_scale_factor or 1.0) / \
                    self.scale_factors[0]
                if abs(ratio - round(ratio)) > 1e-6 or round(ratio) < 1:
                    raise ValueError(
                        f"connector {name!r}: scale='auto' gives the "
                        f'non-integer factor {ratio:g} (teacher input '
                        f'{self.teacher_scale_factor or 1.0:g} over student '
                        f'{self.scale_factors[0]:g}); give an explicit '
                        'integer scale or choose scales whose ratio is one.')
                cfg['scale'] = int(round(ratio))
            out[name] = cfg
        return out

    def _parts(self) -> List[nn.Module]:
        """Every initialisable part but the student: the teacher, each
        connector, the discriminator."""
        parts = [self.teacher, *self.connectors.values(), self.discriminator]
        return [p for p in parts if isinstance(p, BaseModule)]

    def init_weights(self) -> None:
        """Initialise the student from torch's global stream exactly as its
        LR-only run does, then every other part on a stream of its own.

        MMEngine calls this in ``runner.train()``. A teacher loaded from
        ``teacher_ckpt`` is initialised already and left as it is.
        """
        parts = [p for p in self._parts() if not p.is_init]
        for part in parts:  # BaseModule.init_weights skips them now...
            part._is_init = True
        try:
            super().init_weights()
        finally:
            for part in parts:
                part._is_init = False
        with private_rng('ResolutionAwareDistiller.init_weights'):
            for part in parts:  # ...and they draw from their own stream
                part.init_weights()

    def _freeze_teacher(self) -> None:
        self.teacher.eval()
        for p in self.teacher.parameters():
            p.requires_grad_(False)

    def load_teacher(self, ckpt: str) -> None:
        """Load the teacher's weights strictly; explain every failure.

        The file is read safely (:func:`rkd_mm.utils.checkpoint.
        read_checkpoint`: no code from it runs). A distiller's checkpoint
        is accepted too (e.g. the x0.5 student as a teacher assistant): its
        student becomes the teacher.
        """
        how = (f'`python tools/train.py {self.teacher_config}`'
               if self.teacher_config else 'tools/train.py on the teacher '
               'config')
        if not osp.exists(ckpt):
            raise FileNotFoundError(
                f'teacher_ckpt {ckpt} not found. Train the teacher first with '
                f'{how}, then point model.teacher_ckpt at its checkpoint '
                '(e.g. --cfg-options model.teacher_ckpt=PATH).')
        state = state_dict_of(read_checkpoint(ckpt, map_location='cpu'),
                              f'teacher_ckpt {ckpt}')
        state, note = fit_state_dict(
            self.teacher, state, f'teacher_ckpt {ckpt}', 'the teacher model',
            ship_hint=False,
            hint=f'It must be a checkpoint of the teacher config ({how}).')
        if note:  # a distiller's checkpoint: its student teaches
            print_log(note, logger='current')
        load_state_dict(self.teacher, state, strict=True)
        self.teacher._is_init = True  # init_weights must not overwrite it
        self._freeze_teacher()

    def train(self, mode: bool = True) -> 'ResolutionAwareDistiller':
        """Switch mode; the teacher (norm layers, dropout) stays in eval."""
        super().train(mode)
        self.teacher.eval()
        return self

    # ------------------------------------------------------------------
    # views and forwards
    # ------------------------------------------------------------------
    def lr_view(self, inputs: torch.Tensor, scale: float) -> torch.Tensor:
        """The LR view of a normalised HR batch (the student's op)."""
        return self.lr_preprocessor.lr_view(inputs, scale)

    def draw_scale(self) -> float:
        """This iteration's ratio, drawn with torch's generator (seeded by
        the runner, saved in checkpoints by RNGStateHook)."""
        return self.lr_preprocessor.draw_scale()

    def _needs_teacher_lr(self) -> bool:
        return bool(self._teacher_lr_taps())

    def _teacher_lr_taps(self) -> List[str]:
        """Teacher taps that some loss takes on the LR view."""
        return self.wiring.teacher_lr_taps()

    def teacher_view(self, hr: torch.Tensor) -> torch.Tensor:
        """The teacher's input: the HR batch, or its LR view at
        the teacher's own LR scale (a teacher assistant)."""
        pre = lr_preprocessor(_unwrap(self.teacher))
        return hr if pre is None else pre.lr_view(hr, pre.test_scale_factor)

    def _run_teacher(self, x: torch.Tensor) -> Dict[str, torch.Tensor]:
        self.teacher_recorder.clear()
        self.task.forward_tensor(self.teacher, x)
        return dict(self.teacher_recorder.records)

    def teacher_inputs(self, hr: torch.Tensor,
                       lr: Optional[torch.Tensor] = None
                       ) -> Tuple[torch.Tensor, Optional[torch.Tensor]]:
        """What the teacher sees: :meth:`teacher_view` of ``hr`` and, when a
        loss takes ``@lr`` taps, ``lr`` upsampled to that size (else
        ``None``)."""
        hr = self.teacher_view(hr)
        up = None
        if lr is not None and self._needs_teacher_lr():
            up = upsample_tensor(lr, hr.shape[-2:])
        return hr, up

    def _bound_cache(self) -> TeacherOutputCache:
        cache = self.teacher_cache
        if not cache.bound:  # first use: weights final, device known
            cache.bind(self.teacher, self._teacher_cfg,
                       self.teacher_recorder.specs)
        return cache

    @torch.no_grad()
    def teacher_forward(self, hr: torch.Tensor,
                        lr: Optional[torch.Tensor] = None
                        ) -> Dict[str, torch.Tensor]:
        """Run the frozen teacher; return its taps (``@lr`` ones from LR).

        The teacher sees :meth:`teacher_inputs`. With ``teacher_cache``,
        cached samples are read instead (every teacher tap, and the ``@lr``
        taps that a loss takes) and the teacher runs on the missing ones
        only.
        """
        self.teacher.eval()
        hr, up = self.teacher_inputs(hr, lr)
        if self.teacher_cache is None:
            out = self._run_teacher(hr)
            if up is not None:
                out.update({k + LR_SUFFIX: v
                            for k, v in self._run_teacher(up).items()})
            return out
        cache = self._bound_cache()
        out = cache.lookup(hr, list(self.teacher_taps), self._run_teacher)
        if up is not None:
            out.update({
                k + LR_SUFFIX: v for k, v in cache.lookup(
                    up, self._teacher_lr_taps(), self._run_teacher).items()})
        return out

    @torch.no_grad()
    def fill_teacher_cache(self, hr: torch.Tensor,
                           lr: Optional[torch.Tensor] = None) -> int:
        """Store the teacher's taps for a batch ahead of training (what
        :meth:`teacher_forward` would store), reading nothing back.

        Returns:
            int: Teacher inputs computed (HR and ``@lr`` ones together).
        """
        if self.teacher_cache is None:
            raise RuntimeError('this distiller has no teacher_cache to fill '
                               '(model.teacher_cache is None).')
        self.teacher.eval()
        hr, up = self.teacher_inputs(hr, lr)
        cache = self._bound_cache()
        ran = cache.fill(hr, list(self.teacher_taps), self._run_teacher)
        if up is not None:
            ran += cache.fill(up, self._teacher_lr_taps(), self._run_teacher)
        return ran

    def switch_off_teacher_cache(self, reason: str) -> None:
        """Run the teacher online from now on (e.g. random augmentations,
        whose variants never recur); logs ``reason`` as a warning."""
        if self.teacher_cache is None:
            return
        self.teacher_cache = None
        print_log(f'{reason}: teacher-output cache off, teacher runs online.',
                  logger='current', level=logging.WARNING)

    def student_records(self) -> Dict[str, torch.Tensor]:
        """The student's taps, and those its loss inputs take through a
        connector (one connector call)."""
        return self.wiring.student_tensors(dict(self.student_recorder.records))

    def warmup_factor(self) -> float:
        """Linear warm-up of the distillation and adversarial weights."""
        if self.distill_warmup_iters <= 0:
            return 1.0
        it = MessageHub.get_current_instance().get_info('iter', 0)
        return min(1.0, (it + 1) / self.distill_warmup_iters)

    def distill_loss_dict(self, student_out: Dict[str, torch.Tensor],
                          teacher_out: Dict[str, torch.Tensor],
                          data_samples=None) -> Dict[str, torch.Tensor]:
        """``distill.<name>`` losses between student and teacher taps."""
        labels = self.task.labels(data_samples) \
            if data_samples is not None and self.wiring.needs_labels else None
        return self.wiring.loss_dict(student_out, teacher_out, labels,
                                     self.warmup_factor())

    # ------------------------------------------------------------------
    # training (mmagic BaseGAN pattern)
    # ------------------------------------------------------------------
    def train_step(self, data: Union[dict, tuple, list],
                   optim_wrapper: OptimWrapperDict
                   ) -> Dict[str, torch.Tensor]:
        """One iteration: teacher at HR, discriminator step, student step.

        The student runs once; its (detached) features train the
        discriminator, then the student is updated against the updated
        discriminator.

        Args:
            data: A batch from the HR data loader.
            optim_wrapper: Wrappers ``student`` and, with a discriminator,
                ``discriminator``.

        Returns:
            dict: Log variables (``student.*``, ``distill.*``, ``disc.*``,
            and with a teacher cache ``teacher_cache.hit_rate``).
        """
        data = self.data_preprocessor(data, True)
        hr, samples = data['inputs'], data['data_samples']
        lr = self.lr_view(hr, self.draw_scale())
        cache = self.teacher_cache
        before = (cache.hits, cache.lookups) if cache is not None else None
        teacher_out = self.teacher_forward(hr, lr)
        it = MessageHub.get_current_instance().get_info('iter', 0)
        student_turn = (it + 1) % self.disc_steps == 0
        log_vars: Dict[str, torch.Tensor] = {}
        if before is not None:  # share of this step's samples read
            hits, lookups = cache.hits - before[0], cache.lookups - before[1]
            log_vars['teacher_cache.hit_rate'] = torch.tensor(
                hits / max(lookups, 1))
        for step in range(self.gen_steps if student_turn else 1):
            # no graph when only the discriminator learns from this batch
            with optim_wrapper['student'].optim_context(self.student), \
                    torch.set_grad_enabled(student_turn):
                self.student_recorder.clear()
                task_losses = self.task.loss(self.student, lr, samples)
                student_out = self.student_records()
            if self.discriminator is not None and step == 0:
                fake, real = self.wiring.disc_inputs(student_out, teacher_out)
                log_vars.update(
                    self.train_discriminator(fake.detach(), real,
                                             optim_wrapper['discriminator']))
            if student_turn:
                log_vars.update(
                    self.train_student(task_losses, student_out, teacher_out,
                                       optim_wrapper['student'], samples))
        return log_vars

    def train_discriminator(self, fake: torch.Tensor, real: torch.Tensor,
                            optim_wrapper: OptimWrapper
                            ) -> Dict[str, torch.Tensor]:
        """Update the discriminator: teacher HR features are real, student
        LR features fake."""
        with optim_wrapper.optim_context(self.discriminator):
            losses = {
                'disc.loss_real':
                self.adv_loss(self.discriminator(real), True, is_disc=True),
                'disc.loss_fake':
                self.adv_loss(self.discriminator(fake), False, is_disc=True),
            }
        loss, log_vars = self.parse_losses(losses)
        optim_wrapper.update_params(loss)
        return log_vars

    def train_student(self, task_losses: Dict[str, torch.Tensor],
                      student_out: Dict[str, torch.Tensor],
                      teacher_out: Dict[str, torch.Tensor],
                      optim_wrapper: OptimWrapper,
                      samples=None) -> Dict[str, torch.Tensor]:
        """Update the student (and connectors): task + distill + adversarial.

        The discriminator is frozen and called without its DDP wrapper: its
        judgement is back-propagated into the student only.
        """
        with optim_wrapper.optim_context(self.student):
            losses = {f'student.{k}': v for k, v in task_losses.items()}
            losses.update(
                self.distill_loss_dict(student_out, teacher_out, samples))
            if self.discriminator is not None:
                disc = _unwrap(self.discriminator)
                disc.requires_grad_(False)
                losses['distill.loss_adv'] = self.student_adv_loss(
                    student_out)
                disc.requires_grad_(True)
        loss, log_vars = self.parse_losses(losses)
        optim_wrapper.update_params(loss)
        return log_vars

    def student_adv_loss(self, student_out: Dict[str, torch.Tensor]
                         ) -> torch.Tensor:
        """The student's adversarial term (``distill.loss_adv``): the
        discriminator's judgement of the student tap, labelled real, at the
        warmed-up weight. The caller freezes the discriminator."""
        pred = _unwrap(self.discriminator)(
            student_out[self.wiring.disc[0].key])
        return self.warmup_factor() * self.adv_loss(pred, True,
                                                    is_disc=False)

    # ------------------------------------------------------------------
    # inference: the student on the LR view
    # ------------------------------------------------------------------
    def forward(self, inputs: torch.Tensor, data_samples=None,
                mode: str = 'tensor'):
        """``predict``/``tensor``: the student on the LR view of ``inputs``;
        ``loss``: all training losses without any update (for inspection).
        """
        lr = self.lr_view(inputs, self.test_scale_factor if mode != 'loss'
                          else self.draw_scale())
        if mode == 'predict':
            return self.task.predict(self.student, lr, data_samples)
        if mode == 'tensor':
            return self.task.forward_tensor(self.student, lr)
        if mode == 'loss':
            teacher_out = self.teacher_forward(inputs, lr)
            self.student_recorder.clear()
            losses = {f'student.{k}': v for k, v in self.task.loss(
                self.student, lr, data_samples).items()}
            losses.update(
                self.distill_loss_dict(self.student_records(), teacher_out,
                                       data_samples))
            return losses
        raise ValueError(f'Invalid mode {mode!r}.')

    @torch.no_grad()
    def teacher_predict(self, inputs: torch.Tensor, data_samples):
        """The teacher's predictions on its view of the HR batch (for
        teacher/mIoU)."""
        return self.task.predict(self.teacher, self.teacher_view(inputs),
                                 data_samples)


def resolve_model_cfg(cfg: dict, role: str) -> Tuple[dict, Optional[str]]:
    """A model config, or ``dict(cfg_path=FILE, **overrides)`` resolved to
    that file's ``model`` with the overrides merged in."""
    cfg = dict(cfg)
    path = cfg.pop('cfg_path', None)
    if path is None:
        return cfg, None
    if not osp.isfile(path):
        raise FileNotFoundError(f'{role}.cfg_path {path} not found.')
    merged = Config(dict(model=Config.fromfile(path).model))
    merged.merge_from_dict(dict(model=cfg))  # recursive, like _base_
    return merged.model, path


def resolve_checkpoint(path: Optional[str]) -> Optional[str]:
    """A checkpoint path; a glob pattern becomes its newest match (or stays
    as it is when nothing matches, so the error names the pattern)."""
    if path is None or not glob.has_magic(path):
        return path
    matches = glob.glob(path)
    return max(matches, key=osp.getmtime) if matches else path


def _unwrap(module: nn.Module) -> nn.Module:
    return module.module if is_model_wrapper(module) else module


def _drop_teacher_from_state_dict(module, state_dict, prefix, local_metadata):
    for key in [k for k in state_dict if k.startswith(prefix + 'teacher.')]:
        del state_dict[key]
    return state_dict


def _ignore_missing_teacher(module, incompatible_keys) -> None:
    missing = incompatible_keys.missing_keys
    missing[:] = [k for k in missing if not k.startswith('teacher.')]


def _adopt_legacy_scale(model: nn.Module, cfg: dict, role: str,
                        scale_factor, test_scale_factor) -> None:
    """Honour a distiller-level scale of a config written before the LR
    scale moved into the data preprocessor (``model.scale_factor``,
    ``test_scale_factor``, ``teacher_scale_factor``).

    The old configs took the student from an LR-only config whose pipeline
    did the LR op (``rkd_mm.LRDownsample``), and inside the distiller the
    pipeline was HR; so the model's plain preprocessor becomes the LR one of
    its task at that scale, which gives the same pixels. Where the model
    already has an LR preprocessor the two homes must agree.
    """
    if scale_factor is None and test_scale_factor is None:
        return
    field = 'scale_factor' if role == 'student' else 'teacher_scale_factor'
    where = ('model.student.data_preprocessor' if role == 'student' else
             'model.teacher.data_preprocessor')
    pre = lr_preprocessor(model)
    if pre is not None:
        scales = scale_factor if isinstance(scale_factor, (list, tuple)) \
            else [scale_factor if scale_factor is not None
                  else pre.scale_factors[0]]
        same = [check_scale_factor(s, field) for s in scales] == \
            pre.scale_factors and (test_scale_factor is None or
                                   check_scale_factor(test_scale_factor) ==
                                   pre.test_scale_factor)
        if not same:
            raise ValueError(
                f'The LR scale is set twice and the two disagree: model.'
                f'{field}={scale_factor} (test_scale_factor='
                f'{test_scale_factor}) but the {role}\'s data preprocessor '
                f'has {pre.extra_repr()}. The scale lives in {where} only: '
                f'delete model.{field} (and test_scale_factor) from the '
                'config.')
        print_log(
            f'model.{field} is deprecated: the scale lives in {where} '
            f'(which agrees); delete model.{field} from the config.',
            logger='current', level=logging.WARNING)
        return
    host = model.data_preprocessor
    from mmpretrain.models.utils.data_preprocessor import \
        ClsDataPreprocessor
    from mmseg.models.data_preprocessor import SegDataPreProcessor
    lr_cls = {SegDataPreProcessor: LRSegDataPreProcessor,
              ClsDataPreprocessor: LRClsDataPreProcessor}.get(type(host))
    if lr_cls is None:
        raise TypeError(
            f'model.{field} is set but the {role}\'s data preprocessor is a '
            f'{type(host).__name__}, which has no LR version; the LR scale '
            f'lives in an LR data preprocessor ({where}=dict(type='
            "'rkd_mm.LRSegDataPreProcessor' or 'rkd_mm.LRClsDataPreProcessor'"
            ', scale_factor=...)).')
    args = {k: v for k, v in dict(cfg.get('data_preprocessor') or {}).items()
            if k != 'type'}
    model.data_preprocessor = lr_cls(
        **args, scale_factor=scale_factor if scale_factor is not None else
        test_scale_factor, test_scale_factor=test_scale_factor)
    print_log(
        f'model.{field}={scale_factor} is deprecated: the scale lives in '
        f'{where} now ({lr_cls.__name__}); this config still works, with '
        'the same pixels.', logger='current', level=logging.WARNING)


def _normalisation(pre: nn.Module) -> tuple:
    """What decides how a preprocessor maps grey levels to inputs."""
    mean, std = getattr(pre, 'mean', None), getattr(pre, 'std', None)
    flip = (getattr(pre, 'channel_conversion', None),
            getattr(pre, 'to_rgb', None))
    return (None if mean is None else mean.flatten().tolist(),
            None if std is None else std.flatten().tolist(), flip)


def _check_same_normalisation(hr_pre: nn.Module, pre: nn.Module,
                              role: str) -> None:
    """The LR view is made from the HR batch: the HR preprocessor and the
    {role}'s must normalise alike."""
    if _normalisation(hr_pre) != _normalisation(pre):
        raise ValueError(
            f'The {role}\'s data preprocessor normalises otherwise than the '
            'distiller\'s HR one (mean/std/channel order '
            f'{_normalisation(pre)} vs {_normalisation(hr_pre)}). The HR one '
            'is model.data_preprocessor of the distiller config, or its '
            'top-level data_preprocessor (which the Runner hands to the '
            'model; mmpretrain configs inherit one from their dataset '
            'base), else the teacher\'s. The LR view is made from the HR '
            f'batch: give the distiller\'s HR preprocessor, the teacher and '
            f'the {role} the same mean, std and channel order.')
