# Global CRKD, the paper's form on pooled features (docs/method.md): the
# resolution-aware KD loss on the logits, the pair-wise constraint and MMD
# on the globally pooled feature, a feature discriminator on it. Weights as
# first set (KD 1, pair 10, MMD 0.1, adversarial 0.1; not the rule's). It
# was the RKD recipe until dense CRKD replaced it (docs/results.md); its
# ablations drop one part each, or gate the KD term on the teacher being
# right.
_taps = dict(
    feat=dict(module='decode_head.dropout', source='input'),
    logits='decode_head.conv_seg')
_kd = dict(
    type='rkd_mm.ResolutionAwareKDLoss', tau=1.0, detail_weight=2.0,
    loss_weight=1.0)
_kd_inputs = dict(
    preds_S=dict(from_student=True, tap='logits'),
    preds_T=dict(from_student=False, tap='logits'),
    preds_T_lr=dict(from_student=False, tap='logits', view='lr'))
_feat_inputs = dict(
    preds_S=dict(from_student=True, tap='feat'),
    preds_T=dict(from_student=False, tap='feat'))
_adversarial = dict(
    discriminator=dict(type='rkd_mm.FeatureDiscriminator', in_channels=128),
    loss=dict(
        type='rkd_mm.AdversarialLoss', gan_type='lsgan', loss_weight=0.1),
    tap='feat')
crkd_global_seg = dict(
    _delete_=True,
    type='rkd_mm.ConfigurableDistiller',
    student_taps=_taps,
    teacher_taps=_taps,
    distill_losses=dict(
        loss_kd=_kd,
        loss_pair=dict(type='rkd_mm.PairwiseSimilarityLoss',
                       loss_weight=10.0),
        loss_mmd=dict(type='rkd_mm.MMDLoss', normalize=True,
                      loss_weight=0.1)),
    loss_inputs=dict(
        loss_kd=_kd_inputs, loss_pair=_feat_inputs, loss_mmd=_feat_inputs),
    adversarial=_adversarial)
crkd_global_seg_no_adv = dict(crkd_global_seg, adversarial=None)
crkd_global_seg_no_kd = dict(
    crkd_global_seg,
    distill_losses=dict(crkd_global_seg['distill_losses'], loss_kd=None))
crkd_global_seg_no_pair = dict(
    crkd_global_seg,
    distill_losses=dict(crkd_global_seg['distill_losses'], loss_pair=None))
crkd_global_seg_no_mmd = dict(
    crkd_global_seg,
    distill_losses=dict(crkd_global_seg['distill_losses'], loss_mmd=None))
# the KD term only where the HR teacher's prediction is right
crkd_global_seg_kd_gated = dict(
    crkd_global_seg,
    distill_losses=dict(
        crkd_global_seg['distill_losses'],
        loss_kd=dict(_kd, gate='teacher_correct')),
    loss_inputs=dict(
        crkd_global_seg['loss_inputs'],
        loss_kd=dict(_kd_inputs, gt='gt')))
