"""ResolutionAwareDistiller on tiny models: wiring, freezing, one step."""
import copy
import os

import pytest
import torch
from mmengine.config import Config
from mmengine.optim import OptimWrapperDict
from mmengine.registry import init_default_scope

from conftest import CONFIGS, TINY_RKD, seg_batch
from rkd_mm.engine import MultiOptimWrapperConstructor
from rkd_mm.models.losses import ResolutionAwareKDLoss
from rkd_mm.models.losses.resolution_aware_kd_loss import resize_to
from rkd_mm.registry import MODELS
from rkd_mm.utils.lr_view import downsample_image

KEYS = {
    'student.decode.loss_ce', 'student.decode.loss_lovasz',
    'distill.loss_kd', 'distill.loss_pair', 'distill.loss_mmd',
    'distill.loss_adv', 'disc.loss_real', 'disc.loss_fake'
}


@pytest.fixture(autouse=True)
def mmseg_scope():
    init_default_scope('mmseg')


@pytest.fixture
def teacher_ckpt(tiny_teacher_ckpt):
    return tiny_teacher_ckpt


def build(teacher_ckpt, scale_factor=None, test_scale_factor=None,
          teacher_scale_factor=None, distiller=None, **overrides):
    """The tiny distiller; scales go where they live, the student's (and
    the teacher's) LR data preprocessor; ``distiller`` merges into its
    wiring block."""
    cfg = Config.fromfile(TINY_RKD)
    cfg.model.teacher_ckpt = teacher_ckpt
    cfg.model.update(overrides)
    if distiller is not None:
        cfg.merge_from_dict(dict(model=dict(distiller=distiller)))
    if scale_factor is not None:
        cfg.model.student.data_preprocessor = dict(
            scale_factor=scale_factor, test_scale_factor=test_scale_factor)
    if teacher_scale_factor is not None:
        cfg.model.teacher.data_preprocessor = dict(
            type='rkd_mm.LRSegDataPreProcessor',
            scale_factor=teacher_scale_factor)
    return MODELS.build(cfg.model), cfg


def optim(model, cfg) -> OptimWrapperDict:
    return MultiOptimWrapperConstructor(
        {k: v for k, v in cfg.optim_wrapper.items() if k != 'constructor'})(
            model)


def params(module):
    return {k: v.detach().clone() for k, v in module.named_parameters()}


def changed(before, module):
    return [k for k, v in module.named_parameters()
            if not torch.equal(before[k], v.detach())]


def test_one_train_step_logs_every_loss(teacher_ckpt):
    model, cfg = build(teacher_ckpt)
    wrappers = optim(model, cfg)
    assert set(wrappers.keys()) == {'student', 'discriminator'}
    model.train()
    log_vars = model.train_step(seg_batch(), wrappers)
    assert KEYS <= set(log_vars)
    assert all(torch.isfinite(torch.as_tensor(log_vars[k])) for k in KEYS)


def test_no_gradient_reaches_the_teacher(teacher_ckpt):
    model, cfg = build(teacher_ckpt)
    before = params(model.teacher)
    model.train()
    model.train_step(seg_batch(), optim(model, cfg))
    assert all(not p.requires_grad and p.grad is None
               for p in model.teacher.parameters())
    assert not changed(before, model.teacher)


def test_each_step_updates_only_its_own_side(teacher_ckpt):
    model, cfg = build(teacher_ckpt)
    wrappers = optim(model, cfg)
    model.train()
    data = model.data_preprocessor(seg_batch(), True)
    lr = model.lr_view(data['inputs'], 0.5)
    teacher_out = model.teacher_forward(data['inputs'], lr)
    task = model.student(lr, data['data_samples'], mode='loss')
    student_out = model.student_records()

    disc = model.distiller.discriminator
    student_before = params(model.student)
    disc_before = params(disc)
    model.train_discriminator(student_out['feat'].detach(),
                              teacher_out['feat'], wrappers['discriminator'])
    assert changed(disc_before, disc)
    assert not changed(student_before, model.student)

    disc_before = params(disc)
    model.train_student(task, student_out, teacher_out, wrappers['student'])
    assert changed(student_before, model.student)
    assert not changed(disc_before, disc)
    assert all(p.requires_grad for p in disc.parameters())


def test_teacher_stays_in_eval_and_survives_init_weights(teacher_ckpt):
    model, cfg = build(teacher_ckpt)
    saved = torch.load(teacher_ckpt, weights_only=False)['state_dict']
    model.init_weights()
    for k, v in model.teacher.state_dict().items():
        assert torch.equal(v, saved[k]), k
    model.train()
    assert model.student.training
    assert not model.teacher.training
    bns = [m for m in model.teacher.modules()
           if isinstance(m, torch.nn.BatchNorm2d)]
    assert bns and not any(m.training for m in bns)
    stats = bns[0].running_mean.clone()
    model.train_step(seg_batch(), optim(model, cfg))
    assert torch.equal(bns[0].running_mean, stats)


def test_checkpoints_leave_the_teacher_out(teacher_ckpt):
    model, _ = build(teacher_ckpt)
    state = model.state_dict()
    assert not any(k.startswith('teacher.') for k in state)
    assert any(k.startswith('student.') for k in state)
    assert any(k.startswith('distiller.discriminator.') for k in state)
    other, _ = build(teacher_ckpt)
    result = other.load_state_dict(state, strict=True)
    assert not result.missing_keys
    # a checkpoint written before the wiring became model.distiller keeps
    # its parts at the top level: it loads into the same tensors
    old = {(k[len('distiller.'):] if k.startswith('distiller.') else k): v
           for k, v in state.items()}
    assert any(k.startswith('discriminator.') for k in old)
    third, _ = build(teacher_ckpt)
    assert not third.load_state_dict(old, strict=True).missing_keys
    assert all(torch.equal(v, third.state_dict()[k])
               for k, v in state.items())


def test_missing_teacher_checkpoint_says_how_to_train(tmp_path):
    with pytest.raises(FileNotFoundError,
                       match='nope.pth not found.*tools/train.py .*tiny_fpn'):
        build(str(tmp_path / 'nope.pth'))
    # relative to the working directory, which the message names with the
    # absolute path it searched
    with pytest.raises(FileNotFoundError) as err:
        build('work_dirs/nowhere/best_mIoU_iter_*.pth')
    assert os.getcwd() in str(err.value)
    assert os.path.join(os.getcwd(), 'work_dirs/nowhere') in str(err.value)


def test_wrong_teacher_checkpoint_is_named(tmp_path):
    init_default_scope('mmseg')
    student = MODELS.build(
        Config.fromfile(f'{CONFIGS}/tiny_fpn_r18_lr.py').model)
    path = str(tmp_path / 'student.pth')
    # a checkpoint of another model: keys match, one shape does not
    state = copy.deepcopy(student.state_dict())
    state['decode_head.conv_seg.weight'] = torch.zeros(3, 16, 1, 1)
    torch.save(dict(state_dict=state), path)
    with pytest.raises(RuntimeError, match='student.pth does not fit'):
        build(path)


def test_glob_teacher_checkpoint_takes_the_newest(teacher_ckpt):
    pattern = teacher_ckpt.replace('teacher.pth', 'teach*.pth')
    model, _ = build(pattern)
    assert model.teacher_ckpt == teacher_ckpt


def test_config_mistakes_are_named(teacher_ckpt):
    with pytest.raises(KeyError, match='no module .decode_head.conv_sag'):
        build(teacher_ckpt, distiller=dict(student_taps=dict(
            feat=dict(module='decode_head.conv_sag', source='input'))))
    with pytest.raises(KeyError, match="loss_inputs.loss_kd.preds_S: no "
                       "student tap 'logit' .did you mean 'logits'"):
        build(teacher_ckpt, distiller=dict(loss_inputs=dict(
            loss_kd=dict(preds_S=dict(from_student=True, tap='logit')))))
    with pytest.raises(ValueError, match='upgrade_config.py'):
        build(teacher_ckpt, distiller=dict(loss_inputs=dict(
            loss_kd=dict(preds_S='logits'))))
    with pytest.raises(ValueError, match='scale_factor'):
        build(teacher_ckpt, scale_factor=1.5)
    with pytest.raises(ValueError, match='test_scale_factor'):
        build(teacher_ckpt, scale_factor=[0.5, 0.25])
    # --cfg-options model.scale_factor=True parses to a bool, which would
    # otherwise count as 1.0
    with pytest.raises(TypeError, match='scale_factor=True is a boolean'):
        build(teacher_ckpt, scale_factor=True)
    with pytest.raises(TypeError, match='scale_factor=True is a boolean'):
        build(teacher_ckpt, scale_factor=[0.5, True], test_scale_factor=0.5)


def test_the_scale_lives_in_the_student_preprocessor(teacher_ckpt):
    """The distiller reads the student's LR data preprocessor (the LR-only
    config's) and makes the student's view with it."""
    model, _ = build(teacher_ckpt, scale_factor=0.25)
    assert model.lr_preprocessor is model.student.data_preprocessor
    assert model.scale_factors == [0.25] and model.test_scale_factor == 0.25
    assert model.teacher_scale_factor is None
    # the HR preprocessor is the teacher's, at HR
    hr = model.data_preprocessor(seg_batch(n=1), False)['inputs']
    assert hr.shape[-2:] == (64, 64)
    lr = model.student.data_preprocessor(seg_batch(n=1), False)['inputs']
    assert torch.equal(lr, model.lr_view(hr, 0.25))


def test_a_student_without_lr_preprocessor_is_refused(teacher_ckpt):
    cfg = Config.fromfile(TINY_RKD)
    cfg.model.teacher_ckpt = teacher_ckpt
    cfg.model.student = dict(cfg_path=f'{CONFIGS}/tiny_fpn_r50_hr.py')
    with pytest.raises(TypeError, match='no LR data preprocessor'):
        MODELS.build(cfg.model)


def test_ablation_switches_a_loss_off(teacher_ckpt):
    cfg = Config.fromfile(TINY_RKD)
    cfg.model.teacher_ckpt = teacher_ckpt
    cfg.model.distiller.distill_losses.loss_pair = None
    model = MODELS.build(cfg.model)
    assert set(model.distiller.distill_losses) == {'loss_kd', 'loss_mmd'}
    model.train()
    log_vars = model.train_step(seg_batch(), optim(model, cfg))
    assert 'distill.loss_pair' not in log_vars


def test_student_sees_exactly_the_lr_test_pipeline_image(teacher_ckpt):
    model, _ = build(teacher_ckpt)
    data = seg_batch(n=1)
    hr = model.data_preprocessor(copy.deepcopy(data), False)['inputs']
    lr = model.lr_view(hr, 0.5)
    pre = model.data_preprocessor
    grey = torch.round(lr * pre.std + pre.mean)[0]
    # the pixels: BGR uint8 image -> OpenCV area resize -> RGB
    img = data['inputs'][0].permute(1, 2, 0).numpy()
    expected = torch.from_numpy(downsample_image(img, 0.5)).permute(
        2, 0, 1).flip(0).float()
    assert torch.equal(grey, expected)


def test_multi_scale_student_draws_one_ratio_per_iteration(teacher_ckpt):
    model, _ = build(teacher_ckpt, scale_factor=[0.5, 0.25],
                     test_scale_factor=0.25)
    seen = {model.draw_scale() for _ in range(50)}
    assert seen == {0.5, 0.25}
    model.eval()
    with torch.no_grad():
        out = model.test_step(seg_batch(n=1))[0]
    assert tuple(out.pred_sem_seg.shape) == (64, 64)


def test_disc_steps_lets_the_discriminator_train_alone_first(teacher_ckpt):
    """disc_steps=2: the student is updated every second iteration (as
    mmagic's discriminator_steps); in between only the discriminator."""
    from mmengine.logging import MessageHub
    model, cfg = build(teacher_ckpt,
                       distiller=dict(adversarial=dict(disc_steps=2)))
    wrappers = optim(model, cfg)
    model.train()
    hub = MessageHub.get_current_instance()
    disc = model.distiller.discriminator
    student_before, disc_before = params(model.student), params(disc)
    hub.update_info('iter', 0)
    log_vars = model.train_step(seg_batch(), wrappers)
    assert 'disc.loss_real' in log_vars and 'distill.loss_kd' not in log_vars
    assert not changed(student_before, model.student)
    assert changed(disc_before, disc)
    hub.update_info('iter', 1)
    log_vars = model.train_step(seg_batch(), wrappers)
    assert 'distill.loss_kd' in log_vars
    assert changed(student_before, model.student)


def test_gated_kd_gets_the_batch_labels(teacher_ckpt):
    """``'gt'`` in loss_inputs feeds the HR label maps to the KD loss."""
    kd = dict(type='rkd_mm.ResolutionAwareKDLoss', tau=1.0,
              gate='teacher_correct')
    cfg = Config.fromfile(TINY_RKD)
    # assigned, not merged: only the gated KD term is left
    cfg.model.distiller.distill_losses = dict(loss_kd=kd)
    cfg.model.distiller.loss_inputs = dict(
        loss_kd=dict(preds_S=dict(from_student=True, tap='logits'),
                     preds_T=dict(from_student=False, tap='logits'),
                     gt='gt'))
    cfg.model.update(teacher_ckpt=teacher_ckpt, distill_warmup_iters=0)
    model = MODELS.build(cfg.model)
    assert set(model.distiller.distill_losses) == {'loss_kd'}
    model.train()
    data = model.data_preprocessor(seg_batch(), True)
    hr, samples = data['inputs'], data['data_samples']
    lr = model.lr_view(hr, 0.5)
    with torch.no_grad():
        teacher_out = model.teacher_forward(hr, lr)
        model.distiller.student_recorder.clear()
        model.student(lr, mode='tensor')
        student_out = model.student_records()

        def kd(labels):
            for s, lab in zip(samples, labels):
                s.gt_sem_seg.data = lab[None]
            return model.distill_loss_dict(
                student_out, teacher_out, samples)['distill.loss_kd']

        t = teacher_out['logits']
        # labels = the teacher's own argmax (nearest-upsampled to HR):
        # every pixel kept, so the gated loss is plain KD
        agree = t.argmax(1, keepdim=True).float()
        agree = torch.nn.functional.interpolate(
            agree, size=hr.shape[-2:], mode='nearest')[:, 0].long()
        plain = ResolutionAwareKDLoss(tau=1.0)(student_out['logits'], t)
        assert kd(agree).item() == pytest.approx(plain.item(), rel=1e-5)
        assert kd(torch.full_like(agree, 255)) == 0  # all ignored
        # teacher wrong on the right half of the image: only the left half
        # of the teacher's grid is distilled
        half = agree.clone()
        half[..., 32:] = (half[..., 32:] + 1) % 5
        s_left = resize_to(student_out['logits'], t.shape[-2:])[..., :8]
        left = ResolutionAwareKDLoss(tau=1.0)(s_left, t[..., :8])
        assert kd(half).item() == pytest.approx(left.item(), rel=1e-5)


def test_an_input_set_to_none_skips_the_lr_teacher_forward(teacher_ckpt):
    cfg = Config.fromfile(TINY_RKD)
    cfg.model.teacher_ckpt = teacher_ckpt
    model = MODELS.build(cfg.model)
    assert model.distiller.teacher_lr_taps() == ['logits']
    cfg.merge_from_dict({
        'model.distiller.distill_losses.loss_kd.detail_weight': 0.0,
        'model.distiller.loss_inputs.loss_kd.preds_T_lr': None})
    model = MODELS.build(cfg.model)
    assert model.distiller.teacher_lr_taps() == []
    assert set(model.distiller.inputs['loss_kd']) == {'preds_S', 'preds_T'}
    model.train()
    log_vars = model.train_step(seg_batch(), optim(model, cfg))
    assert torch.isfinite(torch.as_tensor(log_vars['distill.loss_kd']))


def test_training_mode_feature_tap_has_no_dropout(teacher_ckpt):
    """The `feat` tap is taken before the decode head's Dropout2d: in train
    mode two forwards with different dropout draws record the same feature
    (while the logits, after dropout, differ: dropout is on), and no
    channel map the dropout-free feature has is zeroed."""
    model, _ = build(teacher_ckpt)
    assert model.student.decode_head.dropout.p > 0
    model.train()
    data = model.data_preprocessor(seg_batch(n=2), True)
    lr = model.lr_view(data['inputs'], 0.5)
    taps = []
    for seed in (0, 1):
        torch.manual_seed(seed)
        model.distiller.student_recorder.clear()
        with torch.no_grad():
            model.student(lr, data['data_samples'], mode='loss')
        taps.append(model.student_records())
    assert torch.equal(taps[0]['feat'], taps[1]['feat'])
    assert not torch.equal(taps[0]['logits'], taps[1]['logits'])
    # the conv_seg input (the old tap) is the same feature with channels
    # zeroed: every map zero there and non-zero in `feat` is a dropout zero
    seen = {}
    hook = model.student.decode_head.conv_seg.register_forward_hook(
        lambda m, i, o: seen.update(x=i[0]))
    torch.manual_seed(0)
    with torch.no_grad():
        model.student(lr, data['data_samples'], mode='loss')
    hook.remove()
    feat = taps[0]['feat']
    dropped = (seen['x'].flatten(2).abs().sum(-1) == 0) & \
        (feat.flatten(2).abs().sum(-1) > 0)
    assert dropped.any()
    assert not ((feat.flatten(2).abs().sum(-1) == 0) &
                (seen['x'].flatten(2).abs().sum(-1) > 0)).any()


def test_teacher_assistant_sees_its_own_lr_view(teacher_ckpt, tmp_path):
    """A trained x0.5 student (its LR-only config, whose LR preprocessor
    sets its scale; weights read from its distiller checkpoint) teaches a
    x0.25 student and sees the x0.5 view of each batch, made with the LR
    op; its @lr taps come from the student's view upsampled to the
    assistant's input size."""
    first, _ = build(teacher_ckpt)
    path = str(tmp_path / 'x0.5_distiller.pth')
    torch.save(dict(state_dict=first.state_dict()), path)
    ta, cfg = build(path, teacher=dict(cfg_path=f'{CONFIGS}/'
                                       'tiny_fpn_r18_lr.py'),
                    scale_factor=0.25)
    assert ta.teacher_scale_factor == 0.5
    own = ta.teacher.state_dict()
    assert all(torch.equal(v, own[k])
               for k, v in first.student.state_dict().items())
    sizes = []
    hook = ta.teacher.backbone.register_forward_hook(
        lambda m, i, o: sizes.append(tuple(i[0].shape[-2:])))
    data = ta.data_preprocessor(seg_batch(size=64), True)
    hr = data['inputs']
    assert torch.equal(ta.teacher_view(hr), ta.lr_view(hr, 0.5))
    out = ta.teacher_forward(hr, ta.lr_view(hr, 0.25))
    hook.remove()
    # HR forward on the x0.5 view, @lr forward on the x0.25 view upsampled
    assert sizes == [(32, 32), (32, 32)]
    direct = ta._run_teacher(ta.lr_view(hr, 0.5))
    assert torch.equal(out['logits'], direct['logits'])
    ta.train()
    log_vars = ta.train_step(seg_batch(size=64), optim(ta, cfg))
    assert torch.isfinite(torch.as_tensor(log_vars['distill.loss_kd']))
    with pytest.raises(ValueError, match='scale_factor=2.0 is out of range'):
        build(teacher_ckpt, teacher_scale_factor=2.0)


def test_auto_connector_scale_is_the_input_size_ratio(teacher_ckpt):
    # the connector feeds the discriminator (every connector must feed
    # some input)
    conn = dict(distiller=dict(
        connectors=dict(feat=dict(
            type='rkd_mm.UpsampleConnector', in_channels=16,
            out_channels=16, scale='auto')),
        adversarial=dict(connector='feat')))
    for scale, teacher_scale, expected in ((0.5, None, 2), (0.25, None, 4),
                                           (0.25, 0.5, 2)):
        model, _ = build(teacher_ckpt, scale_factor=scale,
                         teacher_scale_factor=teacher_scale, **conn)
        assert model.distiller.connectors['feat'].scale == expected
    with pytest.raises(ValueError, match='non-integer factor 1.5'):
        build(teacher_ckpt, scale_factor=0.5, teacher_scale_factor=0.75,
              **conn)
    with pytest.raises(ValueError, match='needs one training scale_factor'):
        build(teacher_ckpt, scale_factor=[0.5, 0.25], test_scale_factor=0.5,
              **conn)
