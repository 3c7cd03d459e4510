"""ConfigurableDistiller: explicit sides, connectors per input, loss
arguments checked against each loss's forward at build time."""
import pytest
from mmengine.config import Config
from mmengine.registry import init_default_scope

from conftest import TINY_RKD, seg_batch
from rkd_mm.models.distillers import LossInput, parse_loss_input
from rkd_mm.registry import MODELS

S_FEAT = dict(from_student=True, tap='feat')
T_FEAT = dict(from_student=False, tap='feat')
EXPLICIT = dict(
    loss_kd=dict(preds_S=dict(from_student=True, tap='logits'),
                 preds_T=dict(from_student=False, tap='logits'),
                 preds_T_lr=dict(from_student=False, tap='logits',
                                 view='lr')),
    loss_pair=dict(preds_S=S_FEAT, preds_T=T_FEAT),
    loss_mmd=dict(preds_S=S_FEAT, preds_T=T_FEAT))


@pytest.fixture(autouse=True)
def mmseg_scope():
    init_default_scope('mmseg')


def build(ckpt, **overrides):
    """The tiny distiller with fields of its distiller block replaced
    (not merged)."""
    cfg = Config.fromfile(TINY_RKD)
    cfg.model.teacher_ckpt = ckpt
    for key, value in overrides.items():
        cfg.model.distiller[key] = value
    return MODELS.build(cfg.model)


def test_parse_explicit_inputs_and_refuse_the_old_form():
    assert parse_loss_input('l', 'x', dict(from_student=True, tap='f')) == \
        LossInput('student', 'f')
    assert parse_loss_input('l', 'x', dict(
        from_student=False, tap='logits', view='lr')) == \
        LossInput('teacher', 'logits', 'lr')
    assert parse_loss_input('l', 'gt', 'gt') == LossInput('gt')
    # the bare tap names of configs written before 2026-12-02 name the
    # tool that rewrites them
    with pytest.raises(ValueError, match='upgrade_config.py'):
        parse_loss_input('l', 'preds_S', 'feat')
    with pytest.raises(ValueError, match="view='lr'"):
        parse_loss_input('l', 'x', dict(from_student=True, tap='f',
                                        view='lr'))
    with pytest.raises(ValueError, match='unknown keys'):
        parse_loss_input('l', 'x', dict(from_student=True, tap='f', lr=1))
    with pytest.raises(ValueError, match='connectors are for student'):
        parse_loss_input('l', 'x', dict(from_student=False, tap='f',
                                        connector='c'))


def test_loss_arguments_are_checked_against_forward(tiny_teacher_ckpt):
    bad = dict(EXPLICIT, loss_pair=dict(pred_S=S_FEAT, preds_T=T_FEAT))
    with pytest.raises(TypeError, match="takes no argument 'pred_S'.*did "
                       "you mean 'preds_S'"):
        build(tiny_teacher_ckpt, loss_inputs=bad)
    missing = dict(EXPLICIT, loss_mmd=dict(preds_S=S_FEAT))
    with pytest.raises(TypeError, match=r"does not give \['preds_T'\]"):
        build(tiny_teacher_ckpt, loss_inputs=missing)
    wrong_side = dict(EXPLICIT, loss_pair=dict(
        preds_S=S_FEAT, preds_T=dict(from_student=False, tap='hint')))
    with pytest.raises(KeyError, match='no teacher tap .hint.'):
        build(tiny_teacher_ckpt, loss_inputs=wrong_side)


def test_a_connector_per_loss_input(tiny_teacher_ckpt):
    """One input goes through a connector, another of the same tap not;
    a connector no input names is refused."""
    conn = dict(up=dict(type='rkd_mm.UpsampleConnector', in_channels=16,
                        out_channels=16, scale=2))
    inputs = dict(EXPLICIT, loss_pair=dict(
        preds_S=dict(S_FEAT, connector='up'),
        preds_T=dict(from_student=False, tap='feat', view='lr')))
    with pytest.raises(KeyError, match=r"connectors \['up'\] feed no"):
        build(tiny_teacher_ckpt, connectors=conn)
    model = build(tiny_teacher_ckpt, connectors=conn, loss_inputs=inputs)
    seen = {}
    loss = model.distiller.distill_losses['loss_pair']
    loss.register_forward_pre_hook(
        lambda m, a, kw: seen.update(s=kw['preds_S'].shape,
                                     t=kw['preds_T'].shape),
        with_kwargs=True)
    model.train()
    data = model.data_preprocessor(seg_batch(), True)
    model(**data, mode='loss')
    # the student's 8x8 feat (x0.5 of 64, stride 4) upsampled 2x; the
    # teacher's on the LR view upsampled to its input: 16x16
    assert seen['s'][-2:] == (16, 16) and seen['t'][-2:] == (16, 16)
    assert 'feat' in model.distiller.teacher_lr_taps()
    # the MMD input of the same tap takes no connector
    records = model.student_records()
    assert records['feat'].shape[-2:] == (8, 8)
    assert records['feat>up'].shape[-2:] == (16, 16)
