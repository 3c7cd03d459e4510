# Channel-wise distillation (Shu et al., ICCV 2021) on the logits, the
# paper's segmentation setting: tau = 4, weight 3 (the student's logits
# upsampled to the teacher's grid).
cwd_seg = dict(
    _delete_=True,
    type='rkd_mm.ConfigurableDistiller',
    student_taps=dict(logits='decode_head.conv_seg'),
    teacher_taps=dict(logits='decode_head.conv_seg'),
    distill_losses=dict(
        loss_cwd=dict(
            type='rkd_mm.ChannelWiseDivergenceLoss',
            tau=4.0,
            align='upsample_student',
            loss_weight=3.0)),
    loss_inputs=dict(
        loss_cwd=dict(
            preds_S=dict(from_student=True, tap='logits'),
            preds_T=dict(from_student=False, tap='logits'))))
