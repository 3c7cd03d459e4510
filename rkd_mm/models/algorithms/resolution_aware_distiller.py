"""ResolutionAwareDistiller: an HR teacher distilled into an LR student."""
import logging
from typing import Dict, List, Optional, Tuple, Union

import torch
from mmengine.logging import MessageHub, print_log
from mmengine.model import BaseModel, BaseModule, is_model_wrapper
from mmengine.optim import OptimWrapper, OptimWrapperDict
from torch import nn

from rkd_mm.registry import MODELS
from rkd_mm.utils.lr_view import upsample_tensor
from rkd_mm.utils.rng import private_rng
from ..data_preprocessors import LRViewMixin, hr_copy, lr_preprocessor
from ..distillers import LR_SUFFIX, ConfigurableDistiller
from ..task_adapters import build_task_adapter
from .teacher_cache import TeacherOutputCache
from .teacher_loading import (check_same_normalisation, load_teacher_weights,
                              resolve_checkpoint, resolve_model_cfg)

__all__ = ['ResolutionAwareDistiller']


@MODELS.register_module()
class ResolutionAwareDistiller(BaseModel):
    """Distil an HR teacher into an LR student (Resolution-aware KD).

    The algorithm (mmrazor's split): it builds the student and the frozen
    teacher, makes the views, runs the teacher, and runs the adversarial
    ``train_step`` (mmagic's ``BaseGAN``); *what* is distilled -- taps,
    connectors, losses, discriminator -- is the ``distiller`` component
    (:class:`~rkd_mm.models.distillers.ConfigurableDistiller`).

    Each training step takes one augmented HR batch. The teacher sees it at
    HR; the student sees the LR view of the same batch, made by its own LR
    data preprocessor (the one home of the scale: the student config is the
    LR-only config, so distilled and LR-only students see the same pixels)
    and learns its task from the HR ground truth. Then
    :meth:`train_discriminator` and :meth:`train_student`, each ending in
    ``update_params`` of its own optimizer wrapper (``student``, which also
    trains the connectors, and ``discriminator``;
    :class:`~rkd_mm.engine.MultiOptimWrapperConstructor`).

    Validation and testing score the student on the LR view (metric names
    unchanged); :class:`~rkd_mm.engine.DistillValLoop` adds the teacher's
    HR score once as ``teacher/<metric>``. What depends on the task (running
    a model to its logits, the labels of a batch) is asked of a task adapter
    picked from the student's type.

    *Paired runs.* The student is built and initialised from torch's global
    stream exactly as in its LR-only run; the teacher and the distiller's
    parts draw from streams of their own (:mod:`rkd_mm.utils.rng`), and a
    term of weight 0 is not computed: at one seed every method's student
    starts from the same weights, and a distiller whose terms all weigh 0
    trains its student bit-identically to the LR-only config (tested).

    Args:
        student: Student model config (an mmseg segmentor or mmpretrain
            classifier with an LR data preprocessor), or ``dict(cfg_path=
            CONFIG, **overrides)`` to take ``model`` from another config
            file (usually the LR-only config).
        teacher: Teacher model config, or ``dict(cfg_path=CONFIG)``. A
            teacher with an LR data preprocessor (a trained x0.5 student
            teaching a x0.25 one: a teacher assistant, Mirzadeh et al.,
            AAAI 2020) sees the LR view at its own ``test_scale_factor``.
        distiller: The wiring component's config
            (``type='rkd_mm.ConfigurableDistiller'``); ``connectors`` with
            ``scale='auto'`` get the teacher's input size over the
            student's.
        teacher_ckpt: Trained teacher checkpoint; a glob pattern takes the
            newest match. Loaded at build time (the resolved path is
            logged); a missing file or a mismatch stops with a message.
            ``None`` keeps a random teacher (tests and FLOP counting only).
        teacher_config: The teacher's config path, named in error messages;
            defaults to the teacher's ``cfg_path``.
        distill_warmup_iters: Distillation and adversarial weights rise
            linearly from 0 over this many iterations (0: off).
        data_preprocessor: The HR data preprocessor; defaults to the
            teacher's (at HR). Without a ``type`` (mmpretrain's top-level
            convention) it is of the teacher's type. It must normalise as
            the student's does (checked).
        teacher_cache: Keyword arguments of :class:`TeacherOutputCache` to
            reuse the teacher's taps for recurring inputs (finite
            augmentations); ``None`` runs the teacher every step.
        task_adapter: A task adapter config; ``None`` picks the one that
            accepts the student.
        init_cfg: MMEngine init config.
    """

    def __init__(self,
                 student: dict,
                 teacher: dict,
                 distiller: Optional[dict] = None,
                 teacher_ckpt: Optional[str] = None,
                 teacher_config: Optional[str] = None,
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
        # everything but the student on a stream of its own (class doc)
        with private_rng('ResolutionAwareDistiller'):
            self.teacher = MODELS.build(teacher)
            self.task = build_task_adapter(task_adapter, self.student)
            self._check_models(student_path)
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
                check_same_normalisation(
                    self.data_preprocessor,
                    getattr(self, role).data_preprocessor, role)
            self._teacher_cfg = teacher  # part of the cache's namespace
            self.teacher_config = teacher_config or teacher_path
            self.teacher_ckpt = resolve_checkpoint(teacher_ckpt)
            self._freeze_teacher()
            if self.teacher_ckpt is not None:
                load_teacher_weights(self.teacher, self.teacher_ckpt,
                                     self.teacher_config)
                self.teacher._is_init = True  # init_weights must keep it
            self.distiller = self._build_distiller(distiller)
        self.distill_warmup_iters = int(distill_warmup_iters)
        self.teacher_cache = TeacherOutputCache(**teacher_cache) \
            if teacher_cache is not None else None
        # drop the frozen teacher from checkpoints: it comes from
        # teacher_ckpt, and would double every checkpoint's size
        self._register_state_dict_hook(_drop_teacher_from_state_dict)
        self.register_load_state_dict_post_hook(_ignore_missing_teacher)

    # ------------------------------------------------------------------
    # construction
    # ------------------------------------------------------------------
    def _check_models(self, student_path: Optional[str]) -> None:
        if not self.task.accepts(self.teacher):
            raise TypeError(
                f'The teacher ({type(self.teacher).__name__}) is not a '
                f'model of the student\'s task ({type(self.task).__name__}'
                f': {self.task.default_scope}); distil between models of '
                'one task library.')
        if lr_preprocessor(self.student) is None:
            raise TypeError(
                f'The student ({type(self.student).__name__}'
                f'{" of " + student_path if student_path else ""}) has no '
                'LR data preprocessor, so it would see the HR batch. Give it '
                "one (data_preprocessor=dict(type='rkd_mm."
                "LRSegDataPreProcessor', scale_factor=0.5), or "
                'LRClsDataPreProcessor for a classifier), or take the '
                'student from an LR-only config (student=dict(cfg_path='
                "'configs/baselines/...')).")

    def _build_distiller(self, cfg: Optional[dict]) -> ConfigurableDistiller:
        """The wiring component, recording on both models."""
        cfg = dict(cfg or dict(type='rkd_mm.ConfigurableDistiller'))
        scales = self.scale_factors
        ratio = None if len(scales) > 1 else \
            (self.teacher_scale_factor or 1.0) / scales[0]
        distiller = MODELS.build(cfg, default_args=dict(input_ratio=ratio))
        if not isinstance(distiller, ConfigurableDistiller):
            raise TypeError(
                f'model.distiller built a {type(distiller).__name__}; it '
                "must be a ConfigurableDistiller (type='rkd_mm."
                "ConfigurableDistiller').")
        distiller.prepare_from_student(self.student)
        distiller.prepare_from_teacher(self.teacher)
        return distiller

    def _freeze_teacher(self) -> None:
        self.teacher.eval()
        for p in self.teacher.parameters():
            p.requires_grad_(False)

    def init_weights(self) -> None:
        """Initialise the student from torch's global stream exactly as its
        LR-only run does, then the teacher (unless loaded) and the
        distiller's parts on a stream of their own.

        MMEngine calls this in ``runner.train()``.
        """
        parts = [p for p in (self.teacher, self.distiller)
                 if isinstance(p, BaseModule) and not p.is_init]
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

    def trainable_parts(self) -> Dict[str, nn.Module]:
        """What each optimizer wrapper may train, by wrapper name
        (:class:`~rkd_mm.engine.MultiOptimWrapperConstructor`): the
        student, the connectors (which join the student's wrapper unless
        they have their own) and the discriminator."""
        return dict(student=self.student,
                    connectors=self.distiller.connectors,
                    discriminator=self.distiller.discriminator)

    def train(self, mode: bool = True) -> 'ResolutionAwareDistiller':
        """Switch mode; the teacher (norm layers, dropout) stays in eval."""
        super().train(mode)
        self.teacher.eval()
        return self

    # ------------------------------------------------------------------
    # scales and views
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

    def lr_view(self, inputs: torch.Tensor, scale: float) -> torch.Tensor:
        """The LR view of a normalised HR batch (the student's op)."""
        return self.lr_preprocessor.lr_view(inputs, scale)

    def draw_scale(self) -> float:
        """This iteration's ratio, drawn with torch's generator (seeded by
        the runner, saved in checkpoints by RNGStateHook)."""
        return self.lr_preprocessor.draw_scale()

    def teacher_view(self, hr: torch.Tensor) -> torch.Tensor:
        """The teacher's input: the HR batch, or its LR view at the
        teacher's own LR scale (a teacher assistant)."""
        pre = lr_preprocessor(_unwrap(self.teacher))
        return hr if pre is None else pre.lr_view(hr, pre.test_scale_factor)

    def teacher_inputs(self, hr: torch.Tensor,
                       lr: Optional[torch.Tensor] = None
                       ) -> Tuple[torch.Tensor, Optional[torch.Tensor]]:
        """What the teacher sees: :meth:`teacher_view` of ``hr`` and, when a
        loss takes ``@lr`` taps, ``lr`` upsampled to that size (else
        ``None``)."""
        hr = self.teacher_view(hr)
        up = None
        if lr is not None and self.distiller.teacher_lr_taps():
            up = upsample_tensor(lr, hr.shape[-2:])
        return hr, up

    # ------------------------------------------------------------------
    # the teacher
    # ------------------------------------------------------------------
    def _run_teacher(self, x: torch.Tensor) -> Dict[str, torch.Tensor]:
        recorder = self.distiller.teacher_recorder
        recorder.clear()
        self.task.forward_tensor(self.teacher, x)
        return dict(recorder.records)

    def _bound_cache(self) -> TeacherOutputCache:
        cache = self.teacher_cache
        if not cache.bound:  # first use: weights final, device known
            cache.bind(self.teacher, self._teacher_cfg,
                       self.distiller.teacher_recorder.specs)
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
        out = cache.lookup(hr, list(self.distiller.teacher_taps),
                           self._run_teacher)
        if up is not None:
            out.update({
                k + LR_SUFFIX: v for k, v in cache.lookup(
                    up, self.distiller.teacher_lr_taps(),
                    self._run_teacher).items()})
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
        ran = cache.fill(hr, list(self.distiller.teacher_taps),
                         self._run_teacher)
        if up is not None:
            ran += cache.fill(up, self.distiller.teacher_lr_taps(),
                              self._run_teacher)
        return ran

    def switch_off_teacher_cache(self, reason: str) -> None:
        """Run the teacher online from now on (e.g. random augmentations,
        whose variants never recur); logs ``reason`` as a warning."""
        if self.teacher_cache is None:
            return
        self.teacher_cache = None
        print_log(f'{reason}: teacher-output cache off, teacher runs online.',
                  logger='current', level=logging.WARNING)

    # ------------------------------------------------------------------
    # training (mmagic BaseGAN pattern)
    # ------------------------------------------------------------------
    def student_records(self) -> Dict[str, torch.Tensor]:
        """The student's taps of the last forward, and those its loss
        inputs take through a connector."""
        return self.distiller.student_tensors()

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
        labels = self.task.labels(data_samples) if data_samples is not None \
            and self.distiller.needs_labels else None
        return self.distiller.loss_dict(student_out, teacher_out, labels,
                                        self.warmup_factor())

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
        distiller = self.distiller
        it = MessageHub.get_current_instance().get_info('iter', 0)
        student_turn = (it + 1) % distiller.disc_steps == 0
        log_vars: Dict[str, torch.Tensor] = {}
        if before is not None:  # share of this step's samples read
            hits, lookups = cache.hits - before[0], cache.lookups - before[1]
            log_vars['teacher_cache.hit_rate'] = torch.tensor(
                hits / max(lookups, 1))
        for step in range(distiller.gen_steps if student_turn else 1):
            # no graph when only the discriminator learns from this batch
            with optim_wrapper['student'].optim_context(self.student), \
                    torch.set_grad_enabled(student_turn):
                distiller.student_recorder.clear()
                task_losses = self.task.loss(self.student, lr, samples)
                student_out = self.student_records()
            if distiller.discriminator is not None and step == 0:
                fake, real = distiller.disc_inputs(student_out, teacher_out)
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
        distiller = self.distiller
        with optim_wrapper.optim_context(distiller.discriminator):
            losses = {
                'disc.loss_real': distiller.adv_loss(
                    distiller.discriminate(real), True, is_disc=True),
                'disc.loss_fake': distiller.adv_loss(
                    distiller.discriminate(fake), False, is_disc=True),
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
            if self.distiller.discriminator is not None:
                disc = _unwrap(self.distiller.discriminator)
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
        distiller = self.distiller
        pred = distiller.discriminate(
            student_out[distiller.disc[0].key], frozen=True)
        return self.warmup_factor() * distiller.adv_loss(
            pred, True, is_disc=False)

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
            self.distiller.student_recorder.clear()
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
        teacher/<metric>)."""
        return self.task.predict(self.teacher, self.teacher_view(inputs),
                                 data_samples)

    def _load_from_state_dict(self, state_dict, prefix, *args, **kwargs):
        # checkpoints written before the wiring became the `distiller`
        # component keep its modules at the top level
        for old in ('connectors.', 'discriminator.', 'distill_losses.',
                    'adv_loss.'):
            for key in [k for k in state_dict if k.startswith(prefix + old)]:
                state_dict[prefix + 'distiller.' + key[len(prefix):]] = \
                    state_dict.pop(key)
        super()._load_from_state_dict(state_dict, prefix, *args, **kwargs)


def _unwrap(module: nn.Module) -> nn.Module:
    return module.module if is_model_wrapper(module) else module


def _drop_teacher_from_state_dict(module, state_dict, prefix, local_metadata):
    for key in [k for k in state_dict if k.startswith(prefix + 'teacher.')]:
        del state_dict[key]
    return state_dict


def _ignore_missing_teacher(module, incompatible_keys) -> None:
    missing = incompatible_keys.missing_keys
    missing[:] = [k for k in missing if not k.startswith('teacher.')]
