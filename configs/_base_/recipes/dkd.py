# Decoupled KD (Zhao et al., CVPR 2022) on the logits, the paper's defaults
# (its CIFAR-100 setting): alpha 1, beta 8, tau 4; it needs the labels.
_dkd_inputs = dict(
    preds_S=dict(from_student=True, tap='logits'),
    preds_T=dict(from_student=False, tap='logits'),
    gt='gt')
dkd_seg = dict(
    _delete_=True,
    type='rkd_mm.ConfigurableDistiller',
    student_taps=dict(logits='decode_head.conv_seg'),
    teacher_taps=dict(logits='decode_head.conv_seg'),
    distill_losses=dict(
        loss_dkd=dict(
            type='rkd_mm.DecoupledKDLoss',
            alpha=1.0,
            beta=8.0,
            tau=4.0,
            ignore_index=255,
            loss_weight=1.0)),
    loss_inputs=dict(loss_dkd=_dkd_inputs))
dkd_cls = dict(
    dkd_seg,
    student_taps=dict(logits='head.fc'),
    teacher_taps=dict(logits='head.fc'),
    distill_losses=dict(
        loss_dkd=dict(
            type='rkd_mm.DecoupledKDLoss',
            alpha=1.0,
            beta=8.0,
            tau=4.0,
            loss_weight=1.0)))
