"""The wiring of a distiller as a config component: which recorded tensors
feed which loss, through which connector, and the adversarial part.

mmrazor's split (``ConfigurableDistiller``): the algorithm
(:class:`~rkd_mm.models.ResolutionAwareDistiller`) runs the models, makes
the views and runs the GAN step; this component records the taps, owns the
connectors, the distillation losses and the discriminator, checks at build
time that every loss argument names a real tap on an explicit side and a
real argument of the loss's ``forward`` (with a suggestion when not), and
computes the losses of a step. A config declares it as one block::

    model = dict(
        type='rkd_mm.ResolutionAwareDistiller',
        student=dict(cfg_path=...), teacher=dict(cfg_path=...),
        distiller=dict(
            type='rkd_mm.ConfigurableDistiller',
            student_taps=dict(feat=dict(module='decode_head.dropout',
                                        source='input'),
                              logits='decode_head.conv_seg'),
            teacher_taps=...,
            connectors=dict(up=dict(type='rkd_mm.UpsampleConnector',
                                    in_channels=128, out_channels=128,
                                    scale='auto')),
            distill_losses=dict(loss_kd=dict(type=...), ...),
            loss_inputs=dict(
                loss_kd=dict(
                    preds_S=dict(from_student=True, tap='logits'),
                    preds_T=dict(from_student=False, tap='logits'),
                    # the teacher on the student's LR view, upsampled
                    preds_T_lr=dict(from_student=False, tap='logits',
                                    view='lr'),
                    gt='gt'),  # the batch's labels (the task adapter's)
                loss_pair=dict(
                    preds_S=dict(from_student=True, tap='feat',
                                 connector='up'),
                    preds_T=dict(from_student=False, tap='feat'))),
            adversarial=dict(
                discriminator=dict(type='rkd_mm.PatchDiscriminator', ...),
                loss=dict(type='rkd_mm.AdversarialLoss', gan_type='lsgan',
                          loss_weight=0.1),
                tap='feat', connector='up', disc_steps=1, gen_steps=1)))

A loss input is a dict with an explicit side (mmrazor's
``loss_forward_mappings``); ``connector`` names the connector a student
tensor goes through first (one connector per input; a (tap, connector) pair
is computed once per step); an argument set to ``None`` is not passed, a
loss set to ``None`` is switched off (its inputs are then ignored).
"""
import difflib
import inspect
from typing import (Dict, List, NamedTuple, Optional, Sequence, Tuple,
                    Union)

import torch
from mmengine.model import BaseModule, is_model_wrapper
from torch import nn

from rkd_mm.registry import MODELS
from ..algorithms.feature_recorder import FeatureRecorder
from ..connectors import ConnectorDict

__all__ = ['ConfigurableDistiller', 'LossInput', 'parse_loss_input', 'GT',
           'LR_VIEW', 'LR_SUFFIX']

GT = 'gt'  # a loss input: the batch's ground truth
LR_VIEW = 'lr'  # a teacher input on the student's view upsampled
#: the key of a teacher tap recorded on the LR view
LR_SUFFIX = '@lr'
ADVERSARIAL_KEYS = ('discriminator', 'loss', 'tap', 'connector',
                    'disc_steps', 'gen_steps')


class LossInput(NamedTuple):
    """Where one loss argument comes from.

    Attributes:
        source: ``'student'``, ``'teacher'`` or ``'gt'``.
        tap: Tap name on that side (``None`` for ``'gt'``).
        view: ``'hr'``, or ``'lr'`` for a teacher tap recorded on the
            student's LR view upsampled to the teacher's input size.
        connector: Name of the connector a student tensor goes through.
    """
    source: str
    tap: Optional[str] = None
    view: str = 'hr'
    connector: Optional[str] = None

    @property
    def key(self) -> str:
        """The name of the tensor in a step's records."""
        if self.source == GT:
            return GT
        if self.source == 'student':
            return f'{self.tap}>{self.connector}' if self.connector \
                else self.tap
        return self.tap + (LR_SUFFIX if self.view == LR_VIEW else '')


def parse_loss_input(loss: str, arg: str, value: Union[str, dict]
                     ) -> LossInput:
    """One ``loss_inputs.<loss>.<arg>`` entry as a :class:`LossInput`.

    Raises:
        ValueError: On an entry that is neither ``'gt'`` nor a dict with an
            explicit side, naming the form to use.
    """
    where = f'loss_inputs.{loss}.{arg}'
    form = ("give dict(from_student=True|False, tap='<tap name>') with "
            "optional view='lr' (teacher only) and connector='<name>' "
            "(student only), or 'gt' for the batch's labels")
    if value == GT:
        return LossInput(GT)
    if not isinstance(value, dict):
        hint = (' (a bare tap name is the form of configs written before '
                '2026-12-02: tools/misc/upgrade_config.py rewrites them)'
                if isinstance(value, str) else '')
        raise ValueError(f'{where}={value!r}: {form}{hint}.')
    unknown = set(value) - {'from_student', 'tap', 'view', 'connector'}
    if unknown or 'from_student' not in value or 'tap' not in value:
        raise ValueError(
            f'{where}={dict(value)}: {form}' +
            (f'; unknown keys {sorted(unknown)}' if unknown else '') + '.')
    student = bool(value['from_student'])
    view = value.get('view', 'hr')
    if view not in ('hr', LR_VIEW) or (student and view != 'hr'):
        raise ValueError(
            f"{where}: view={view!r}; view='lr' (the teacher on the "
            "student's LR view) is for teacher inputs only.")
    if not student and value.get('connector'):
        raise ValueError(f'{where}: connectors are for student inputs; '
                         'this one has from_student=False.')
    return LossInput('student' if student else 'teacher', value['tap'],
                     view, value.get('connector'))


def _accepted_args(loss: nn.Module) -> Tuple[List[str], List[str], bool]:
    """(all argument names, required ones, takes **kwargs) of
    ``loss.forward``."""
    params = list(inspect.signature(loss.forward).parameters.values())
    named = (inspect.Parameter.POSITIONAL_OR_KEYWORD,
             inspect.Parameter.KEYWORD_ONLY)
    names = [p.name for p in params if p.kind in named]
    required = [p.name for p in params
                if p.kind in named and p.default is p.empty]
    var_kw = any(p.kind == p.VAR_KEYWORD for p in params)
    return names, required, var_kw


def _sorted(mapping: Optional[dict]) -> Optional[dict]:
    """``mapping`` with its keys in sorted order."""
    return None if mapping is None else dict(sorted(mapping.items()))


def _unwrap(module: nn.Module) -> nn.Module:
    return module.module if is_model_wrapper(module) else module


@MODELS.register_module()
class ConfigurableDistiller(BaseModule):
    """Taps, connectors, distillation losses and the adversarial part of a
    :class:`~rkd_mm.models.ResolutionAwareDistiller` (see the module doc).

    Its parts are built in this order -- connectors, losses, discriminator,
    adversarial loss -- on the algorithm's private random stream, and
    initialised by the algorithm on another one (:meth:`init_weights`), so
    that they never shift the student's draws. Connectors and losses are
    taken in the order of their names (the losses are summed in it), so a
    config's numbers do not depend on the order it lists them in.

    Args:
        student_taps: ``{name: tap}`` recorded on the student
            (:class:`~rkd_mm.models.algorithms.FeatureRecorder`).
        teacher_taps: ``{name: tap}`` recorded on the teacher.
        connectors: ``{name: connector config}``; ``scale='auto'`` becomes
            ``input_ratio``.
        distill_losses: ``{name: loss config}``, logged as
            ``distill.<name>``; ``None`` switches one off.
        loss_inputs: ``{loss: {argument: input}}``.
        adversarial: ``dict(discriminator=..., loss=..., tap=...,
            connector=None, disc_steps=1, gen_steps=1)``, or None for no
            adversarial training. ``loss`` defaults to
            ``rkd_mm.AdversarialLoss``; its ``loss_weight`` weighs the
            student's term (``distill.loss_adv``); the discriminator is
            updated ``disc_steps`` times per student update, the student
            ``gen_steps`` times when it trains (mmagic's convention).
        input_ratio: The teacher's input size over the student's (2 at x0.5
            with an HR teacher), given by the algorithm: the factor between
            their tap grids when both taps have the same stride. ``None``
            (several training scales) refuses ``scale='auto'``.
        init_cfg: MMEngine init config.
    """

    def __init__(self,
                 student_taps: Optional[Dict[str, object]] = None,
                 teacher_taps: Optional[Dict[str, object]] = None,
                 connectors: Optional[Dict[str, dict]] = None,
                 distill_losses: Optional[Dict[str, Optional[dict]]] = None,
                 loss_inputs: Optional[Dict[str, Dict[str, object]]] = None,
                 adversarial: Optional[dict] = None,
                 input_ratio: Optional[float] = None,
                 init_cfg: Optional[dict] = None) -> None:
        super().__init__(init_cfg)
        self.student_taps = dict(student_taps or {})
        self.teacher_taps = dict(teacher_taps or {})
        # by name, whatever order the config wrote them in: the terms are
        # summed (and the connectors drawn) in one order, so a config gives
        # the same numbers run directly and frozen by the runner (which
        # writes keys sorted)
        self.connectors = ConnectorDict(_sorted(
            self._resolve_auto_scales(connectors, input_ratio)))
        enabled = {name: cfg
                   for name, cfg in _sorted(distill_losses or {}).items()
                   if cfg is not None}
        self.distill_losses = nn.ModuleDict(
            {name: MODELS.build(cfg) for name, cfg in enabled.items()})
        # inputs of switched-off losses are dropped
        loss_inputs = {k: v for k, v in (loss_inputs or {}).items()
                       if k in enabled or k not in (distill_losses or {})}
        adversarial = dict(adversarial) if adversarial else None
        if adversarial is not None:
            unknown = set(adversarial) - set(ADVERSARIAL_KEYS)
            if unknown or 'discriminator' not in adversarial or \
                    'tap' not in adversarial:
                raise KeyError(
                    f'distiller.adversarial={adversarial}: give '
                    'dict(discriminator=dict(type=...), tap=<tap name>) with '
                    'optional loss, connector, disc_steps, gen_steps' +
                    (f'; unknown keys {sorted(unknown)}' if unknown else '') +
                    '.')
            self.discriminator = MODELS.build(adversarial['discriminator'])
            self.adv_loss = MODELS.build(
                adversarial.get('loss') or
                dict(type='rkd_mm.AdversarialLoss'))
            disc_steps = int(adversarial.get('disc_steps', 1))
            gen_steps = int(adversarial.get('gen_steps', 1))
            if disc_steps < 1 or gen_steps < 1:
                raise ValueError('distiller.adversarial: disc_steps and '
                                 'gen_steps must be >= 1.')
            self.disc_steps, self.gen_steps = disc_steps, gen_steps
            self.disc: Optional[Tuple[LossInput, LossInput]] = (
                LossInput('student', adversarial['tap'],
                          connector=adversarial.get('connector')),
                LossInput('teacher', adversarial['tap']))
        else:
            self.discriminator = self.adv_loss = None
            self.disc_steps = self.gen_steps = 1
            self.disc = None
        self.inputs: Dict[str, Dict[str, LossInput]] = {
            name: {arg: parse_loss_input(name, arg, value)
                   for arg, value in args.items() if value is not None}
            for name, args in loss_inputs.items()
        }
        self._validate()
        self.student_recorder: Optional[FeatureRecorder] = None
        self.teacher_recorder: Optional[FeatureRecorder] = None

    # ------------------------------------------------------------------
    # construction
    # ------------------------------------------------------------------
    @staticmethod
    def _resolve_auto_scales(connectors: Optional[Dict[str, dict]],
                             ratio: Optional[float]
                             ) -> Optional[Dict[str, dict]]:
        """Connector configs with ``scale='auto'`` set to ``ratio``."""
        if not connectors:
            return connectors
        out = {}
        for name, cfg in connectors.items():
            cfg = dict(cfg)
            if cfg.get('scale') == 'auto':
                if ratio is None:
                    raise ValueError(
                        f"connector {name!r}: scale='auto' needs one "
                        'training scale_factor (the student draws several); '
                        'give the connector an explicit scale.')
                if abs(ratio - round(ratio)) > 1e-6 or round(ratio) < 1:
                    raise ValueError(
                        f"connector {name!r}: scale='auto' gives the "
                        f'non-integer factor {ratio:g} (the teacher\'s input '
                        "size over the student's); give an explicit integer "
                        'scale or choose scales whose ratio is one.')
                cfg['scale'] = int(round(ratio))
            out[name] = cfg
        return out

    def prepare_from_student(self, student: nn.Module) -> None:
        """Record :attr:`student_taps` on ``student`` (forward hooks)."""
        self.student_recorder = FeatureRecorder(student, self.student_taps,
                                                'student')

    def prepare_from_teacher(self, teacher: nn.Module) -> None:
        """Record :attr:`teacher_taps` on ``teacher`` (forward hooks)."""
        self.teacher_recorder = FeatureRecorder(teacher, self.teacher_taps,
                                                'teacher')

    def init_weights(self) -> None:
        """Each connector, then the discriminator (the order their draws
        have on the algorithm's stream)."""
        # (wrapped for DDP by now in a multi-process run)
        parts = [*_unwrap(self.connectors).values(), self.discriminator]
        for part in parts:
            part = _unwrap(part) if part is not None else None
            if isinstance(part, BaseModule) and not part.is_init:
                part.init_weights()
        self._is_init = True

    # ------------------------------------------------------------------
    # build-time checks
    # ------------------------------------------------------------------
    def _validate(self) -> None:
        for name in self.distill_losses:
            if name not in self.inputs:
                raise KeyError(
                    f'distill loss {name!r} has no entry in loss_inputs; add '
                    f'loss_inputs=dict({name}=dict(preds_S=dict(from_student'
                    "=True, tap='<student tap>'), preds_T=dict(from_student="
                    "False, tap='<teacher tap>'))).")
        for name, args in self.inputs.items():
            if name not in self.distill_losses:
                raise KeyError(f'loss_inputs names {name!r}, which is not '
                               f'in distill_losses '
                               f'{list(self.distill_losses)}.')
            for arg, spec in args.items():
                self._check_source(f'loss_inputs.{name}.{arg}', spec)
            self._check_signature(name, args)
        if self.disc is not None:
            for spec in self.disc:
                self._check_source('adversarial.tap', spec)
        used = {spec.connector for spec in self._student_specs()
                if spec.connector}
        unused = set(self.connectors) - used
        if unused:
            raise KeyError(
                f'connectors {sorted(unused)} feed no loss input: name them '
                "in a student input (connector='<name>') or in "
                'adversarial.connector, or remove them.')

    def _check_source(self, where: str, spec: LossInput) -> None:
        if spec.source == GT:
            return
        taps = self.student_taps if spec.source == 'student' else \
            self.teacher_taps
        if spec.tap not in taps:
            close = difflib.get_close_matches(spec.tap, list(taps), n=1)
            hint = f" (did you mean '{close[0]}'?)" if close else ''
            raise KeyError(
                f'{where}: no {spec.source} tap {spec.tap!r}{hint}; '
                f'{spec.source}_taps has {sorted(taps)}.')
        if spec.connector and spec.connector not in self.connectors:
            raise KeyError(
                f'{where}: no connector {spec.connector!r}; connectors has '
                f'{sorted(self.connectors)}.')

    def _check_signature(self, name: str, args: Dict[str, LossInput]
                         ) -> None:
        loss = self.distill_losses[name]
        names, required, var_kw = _accepted_args(loss)
        kind = type(loss).__name__
        shown = ', '.join(names)
        for arg in args:
            if arg not in names and not var_kw:
                close = difflib.get_close_matches(arg, names, n=1)
                hint = f"; did you mean '{close[0]}'?" if close else ''
                raise TypeError(
                    f'loss_inputs.{name}.{arg}: {kind}.forward takes no '
                    f'argument {arg!r} (it takes {shown}){hint}')
        missing = [a for a in required if a not in args]
        if missing:
            raise TypeError(
                f'loss_inputs.{name} does not give {missing}, which '
                f'{kind}.forward({shown}) needs: add ' +
                ', '.join(f"{a}=dict(from_student=..., tap='...')"
                          for a in missing) + '.')

    def _student_specs(self) -> List[LossInput]:
        specs = [s for args in self.inputs.values() for s in args.values()
                 if s.source == 'student']
        if self.disc is not None:
            specs.append(self.disc[0])
        return specs

    # ------------------------------------------------------------------
    # what a step needs
    # ------------------------------------------------------------------
    def teacher_lr_taps(self) -> List[str]:
        """Teacher taps some loss takes on the LR view."""
        return sorted({spec.tap for args in self.inputs.values()
                       for spec in args.values()
                       if spec.source == 'teacher' and spec.view == LR_VIEW})

    @property
    def needs_labels(self) -> bool:
        return any(spec.source == GT for args in self.inputs.values()
                   for spec in args.values())

    def student_tensors(self) -> Dict[str, torch.Tensor]:
        """The student's recorded taps by :attr:`LossInput.key`: raw taps,
        and each (tap, connector) pair in use through its connector (one
        call of the ``ConnectorDict``, as a DDP-wrapped one needs)."""
        records = dict(self.student_recorder.records)
        out = dict(records)
        pairs = {(s.tap, s.connector) for s in self._student_specs()
                 if s.connector}
        if pairs:
            by_connector: Dict[str, List[str]] = {}
            for tap, conn in pairs:
                by_connector.setdefault(conn, []).append(tap)
            shared = [c for c, taps in by_connector.items() if len(taps) > 1]
            if shared:
                raise ValueError(
                    f'connectors {shared} are named for several student '
                    'taps; give each tap its own connector.')
            connected = self.connectors(
                {conn: records[taps[0]]
                 for conn, taps in by_connector.items()})
            for conn, taps in by_connector.items():
                out[f'{taps[0]}>{conn}'] = connected[conn]
        return out

    def disc_inputs(self, student: Dict[str, torch.Tensor],
                    teacher: Dict[str, torch.Tensor]
                    ) -> Tuple[torch.Tensor, torch.Tensor]:
        """(fake, real): the discriminator's student and teacher input."""
        return student[self.disc[0].key], teacher[self.disc[1].key]

    def discriminate(self, feat: torch.Tensor,
                     frozen: bool = False) -> torch.Tensor:
        """The discriminator's logits for ``feat``; ``frozen``: without its
        DDP wrapper (its judgement trains the student only)."""
        disc = _unwrap(self.discriminator) if frozen else self.discriminator
        return disc(feat)

    def loss_dict(self, student: Dict[str, torch.Tensor],
                  teacher: Dict[str, torch.Tensor],
                  labels: Optional[torch.Tensor] = None,
                  factor: float = 1.0) -> Dict[str, torch.Tensor]:
        """``distill.<name>`` of each loss, times ``factor`` (warm-up).

        A loss whose ``loss_weight`` is 0 is skipped (not computed, not
        logged): it adds nothing to the gradient, but computing it would
        give the student's tapped tensors a second consumer in the autograd
        graph, and the gradient that then reaches them is a sum whose float
        layout differs from the LR-only run's (seen: a 1-ulp difference in
        a bias gradient on one thread). Skipped, a distiller whose terms
        all weigh 0 trains its student bit-identically to the LR-only
        config.

        Args:
            student: :meth:`student_tensors` of the step.
            teacher: The teacher's taps (``<tap>@lr`` on the LR view).
            labels: The batch's ground truth, for ``'gt'`` inputs.
            factor: Warm-up factor.
        """
        sources = dict(teacher)
        if labels is not None:
            sources[GT] = labels
        losses = {}
        for name, loss in self.distill_losses.items():
            if getattr(loss, 'loss_weight', None) == 0:
                continue
            kwargs = {
                arg: (student if spec.source == 'student' else sources)[
                    spec.key]
                for arg, spec in self.inputs[name].items()
            }
            losses[f'distill.{name}'] = factor * loss(**kwargs)
        return losses

    def describe(self) -> Sequence[str]:
        """One line per loss input (for logs and docs)."""
        return [f'{name}.{arg} <- {spec.source}' +
                (f'.{spec.tap}' if spec.tap else '') +
                (' (LR view)' if spec.view == LR_VIEW else '') +
                (f' -> connector {spec.connector}' if spec.connector
                 else '')
                for name, args in self.inputs.items()
                for arg, spec in args.items()]
