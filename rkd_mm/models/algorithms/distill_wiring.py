"""The wiring of a distiller: which recorded tensors feed which loss.

mmrazor's ``ConfigurableDistiller`` split, for
:class:`~rkd_mm.models.ResolutionAwareDistiller`: the algorithm runs the
models and the GAN step; this class knows the taps, the connectors and the
distillation losses, checks at build time that every loss argument names a
real tap (on an explicit side) and a real argument of the loss's
``forward``, and computes the losses of a step.

A loss input is a dict with an explicit side, as mmrazor's
``loss_forward_mappings``::

    loss_inputs=dict(
        loss_kd=dict(
            preds_S=dict(from_student=True, tap='logits'),
            preds_T=dict(from_student=False, tap='logits'),
            # the teacher on the student's LR view, upsampled to its input
            preds_T_lr=dict(from_student=False, tap='logits', view='lr'),
            gt='gt'),  # the batch's ground truth (the task adapter's labels)
        loss_pair=dict(
            preds_S=dict(from_student=True, tap='feat', connector='feat'),
            preds_T=dict(from_student=False, tap='feat')))

``connector`` names an entry of ``connectors`` that the student tensor goes
through first (one connector per loss input; a (tap, connector) pair is
computed once per step however many inputs share it). An argument set to
``None`` is not passed.

Configs written before 2026-12-02 used bare strings (``preds_S='logits'``:
the side from an ``_S`` suffix of the argument name, ``'logits@lr'`` for the
LR view, and connectors keyed by the student tap they applied to, for every
use of it); they are read as the same explicit inputs, with a warning.
"""
import difflib
import inspect
import logging
from typing import Dict, List, NamedTuple, Optional, Sequence, Union

import torch
from mmengine.logging import print_log
from torch import nn

__all__ = ['LossInput', 'DistillWiring', 'GT', 'LR_VIEW']

GT = 'gt'  # a loss input: the batch's ground truth
LR_VIEW = 'lr'  # a teacher input on the student's view upsampled
_LEGACY_LR_SUFFIX = '@lr'


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
        return self.tap + (_LEGACY_LR_SUFFIX if self.view == LR_VIEW
                           else '')


def parse_loss_input(loss: str, arg: str, value: Union[str, dict]
                     ) -> LossInput:
    """One ``loss_inputs.<loss>.<arg>`` entry as a :class:`LossInput`.

    Raises:
        ValueError: On an entry of neither form, naming the fix.
    """
    where = f'loss_inputs.{loss}.{arg}'
    if value == GT:
        return LossInput(GT)
    if isinstance(value, dict):
        unknown = set(value) - {'from_student', 'tap', 'view', 'connector'}
        if unknown or 'from_student' not in value or 'tap' not in value:
            raise ValueError(
                f'{where}={dict(value)}: give dict(from_student=True|False, '
                "tap='<tap name>') with optional view='lr' (teacher only) "
                "and connector='<name>' (student only)"
                + (f'; unknown keys {sorted(unknown)}' if unknown else '')
                + '.')
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
    if isinstance(value, str):  # the pre-2026-12-02 convention
        if value.endswith(_LEGACY_LR_SUFFIX):
            return LossInput('teacher', value[:-len(_LEGACY_LR_SUFFIX)],
                             LR_VIEW)
        return LossInput('student' if arg.endswith('_S') else 'teacher',
                         value)
    raise ValueError(
        f'{where}={value!r}: give dict(from_student=True|False, '
        "tap='<tap name>') or 'gt'.")


def _accepted_args(loss: nn.Module):
    """(all argument names, required ones, takes **kwargs) of
    ``loss.forward``."""
    params = list(inspect.signature(loss.forward).parameters.values())
    names = [p.name for p in params
             if p.kind in (p.POSITIONAL_OR_KEYWORD, p.KEYWORD_ONLY)]
    required = [p.name for p in params
                if p.kind in (p.POSITIONAL_OR_KEYWORD, p.KEYWORD_ONLY)
                and p.default is p.empty]
    var_kw = any(p.kind == p.VAR_KEYWORD for p in params)
    return names, required, var_kw


class DistillWiring:
    """Taps, connectors and distillation losses of a distiller.

    The modules (``connectors``, ``losses``) are the distiller's own (its
    state dict keeps the keys ``connectors.*`` / ``distill_losses.*``);
    this object holds the parsed inputs and computes with them.

    Args:
        student_taps: ``{name: tap}`` recorded on the student.
        teacher_taps: ``{name: tap}`` recorded on the teacher.
        connectors: The built connectors (``{name: module}``, an
            ``nn.ModuleDict``).
        losses: The built, enabled losses (``{name: module}``).
        loss_inputs: ``{loss: {argument: input}}`` (see the module doc).
        disc_tap: The tap the discriminator judges (both sides), or None.
        disc_connector: Connector of the student's disc input.
    """

    def __init__(self, student_taps: Dict[str, object],
                 teacher_taps: Dict[str, object], connectors: nn.ModuleDict,
                 losses: nn.ModuleDict,
                 loss_inputs: Dict[str, Dict[str, object]],
                 disc_tap: Optional[str] = None,
                 disc_connector: Optional[str] = None) -> None:
        self.student_taps = dict(student_taps)
        self.teacher_taps = dict(teacher_taps)
        self.connectors = connectors
        self.losses = losses
        legacy = any(isinstance(v, str) and v != GT
                     for args in loss_inputs.values() for v in args.values())
        self.inputs: Dict[str, Dict[str, LossInput]] = {
            name: {arg: parse_loss_input(name, arg, value)
                   for arg, value in args.items() if value is not None}
            for name, args in loss_inputs.items()
        }
        if legacy:
            disc_connector = self._adopt_legacy_connectors(
                disc_tap, disc_connector)
        self.disc = None if disc_tap is None else (
            LossInput('student', disc_tap, connector=disc_connector),
            LossInput('teacher', disc_tap))
        self._validate()

    def _adopt_legacy_connectors(self, disc_tap, disc_connector):
        """Old configs keyed connectors by the student tap they apply to,
        for every use of it (the discriminator's too)."""
        for args in self.inputs.values():
            for arg, spec in args.items():
                if spec.source == 'student' and spec.tap in self.connectors:
                    args[arg] = spec._replace(connector=spec.tap)
        if disc_connector is None and disc_tap in self.connectors:
            disc_connector = disc_tap
        print_log(
            'loss_inputs as bare strings (the side from an _S suffix, @lr '
            'for the LR view, connectors keyed by student tap) are read as '
            "explicit inputs; write dict(from_student=..., tap=..., "
            "view='lr', connector=...) instead (docs/method.md).",
            logger='current', level=logging.WARNING)
        return disc_connector

    # ------------------------------------------------------------------
    # build-time checks
    # ------------------------------------------------------------------
    def _validate(self) -> None:
        for name in self.losses:
            if name not in self.inputs:
                raise KeyError(
                    f'distill loss {name!r} has no entry in loss_inputs; add '
                    f'loss_inputs=dict({name}=dict(preds_S=dict(from_student'
                    "=True, tap='<student tap>'), preds_T=dict(from_student="
                    "False, tap='<teacher tap>'))).")
        for name, args in self.inputs.items():
            if name not in self.losses:
                raise KeyError(f'loss_inputs names {name!r}, which is not '
                               f'in distill_losses {list(self.losses)}.')
            for arg, spec in args.items():
                self._check_source(f'loss_inputs.{name}.{arg}', spec)
            self._check_signature(name, args)
        if self.disc is not None:
            for spec in self.disc:
                self._check_source('disc_tap', spec)
        used = {spec.connector for args in self.inputs.values()
                for spec in args.values() if spec.connector}
        if self.disc is not None and self.disc[0].connector:
            used.add(self.disc[0].connector)
        unused = set(self.connectors) - used
        if unused:
            raise KeyError(
                f'connectors {sorted(unused)} feed no loss input: name them '
                "in a student input (connector='<name>') or disc_connector, "
                'or remove them.')

    def _check_source(self, where: str, spec: LossInput) -> None:
        if spec.source == GT:
            return
        taps = self.student_taps if spec.source == 'student' else \
            self.teacher_taps
        if spec.tap not in taps:
            raise KeyError(
                f'{where}: no {spec.source} tap {spec.tap!r}; '
                f'{spec.source}_taps has {sorted(taps)}.')
        if spec.connector and spec.connector not in self.connectors:
            raise KeyError(
                f'{where}: no connector {spec.connector!r}; connectors has '
                f'{sorted(self.connectors)}.')

    def _check_signature(self, name: str, args: Dict[str, LossInput]
                         ) -> None:
        loss = self.losses[name]
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
                f'{kind}.forward({shown}) needs: add '
                + ', '.join(f"{a}=dict(from_student=..., tap='...')"
                            for a in missing) + '.')

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

    def student_tensors(self, records: Dict[str, torch.Tensor]
                        ) -> Dict[str, torch.Tensor]:
        """The student's tensors by :attr:`LossInput.key`: raw taps, and
        each (tap, connector) pair in use through its connector (one call
        of the ``ConnectorDict``, as a DDP-wrapped one needs)."""
        specs = [s for args in self.inputs.values() for s in args.values()
                 if s.source == 'student']
        if self.disc is not None:
            specs.append(self.disc[0])
        out = dict(records)
        pairs = {(s.tap, s.connector) for s in specs if s.connector}
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
                    teacher: Dict[str, torch.Tensor]):
        """(fake, real): the discriminator's student and teacher input."""
        return student[self.disc[0].key], teacher[self.disc[1].key]

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
        for name, loss in self.losses.items():
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
        return [f'{name}.{arg} <- {spec.source}'
                + (f'.{spec.tap}' if spec.tap else '')
                + (' (LR view)' if spec.view == LR_VIEW else '')
                + (f' -> connector {spec.connector}' if spec.connector
                   else '')
                for name, args in self.inputs.items()
                for arg, spec in args.items()]
