# Hinton KD (Hinton et al. 2015) on the logits: tau = 4, weight 1 (the
# tau^2-scaled KL at a common temperature); detail_weight=0 makes
# ResolutionAwareKDLoss plain Hinton KD. One distiller per task (its logits
# tap); a KD config replaces its primitive's distiller with one of them:
# model = dict(distiller={{_base_.kd_seg}}).
_kd_loss = dict(
    type='rkd_mm.ResolutionAwareKDLoss', tau=4.0, detail_weight=0.0,
    loss_weight=1.0)
_kd_inputs = dict(
    preds_S=dict(from_student=True, tap='logits'),
    preds_T=dict(from_student=False, tap='logits'))
kd_seg = dict(
    _delete_=True,
    type='rkd_mm.ConfigurableDistiller',
    student_taps=dict(logits='decode_head.conv_seg'),
    teacher_taps=dict(logits='decode_head.conv_seg'),
    distill_losses=dict(loss_kd=_kd_loss),
    loss_inputs=dict(loss_kd=_kd_inputs))
kd_cls = dict(
    kd_seg,
    student_taps=dict(logits='head.fc'),
    teacher_taps=dict(logits='head.fc'))
# ArcFace's logits are scale x cos: on the cosines the temperature is
# tau / scale (4 / 16)
kd_face = dict(
    kd_seg,
    student_taps=dict(logits='head.norm_product'),
    teacher_taps=dict(logits='head.norm_product'),
    distill_losses=dict(loss_kd=dict(_kd_loss, tau=4.0 / 16)))
