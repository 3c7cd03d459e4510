# Baseline: channel-wise distillation (Shu et al. 2021), x0.5 student. The
# protocol (data, schedule, optimizer, teacher, student, warm-up) is the RKD
# config's; the discriminator is off.
_base_ = ['../rkd/rkd_fpn_r50-fpn_r18_1xb8-2k_syndefect-lr64x64.py']
# the logits (decode_head.conv_seg output, 5 classes, stride 4); the
# student's are upsampled bilinearly to the teacher's grid
method_taps = dict(logits='decode_head.conv_seg')
model = dict(
    discriminator=None,
    student_taps=dict(_delete_=True, **method_taps),
    teacher_taps=dict(_delete_=True, **method_taps),
    # the paper's segmentation setting on logits: tau = 4, weight 3
    distill_losses=dict(
        _delete_=True,
        loss_cwd=dict(
            type='rkd_mm.ChannelWiseDivergenceLoss',
            tau=4.0,
            align='upsample_student',
            loss_weight=3.0)),
    loss_inputs=dict(
        _delete_=True,
        loss_cwd=dict(
            preds_S=dict(from_student=True, tap='logits'),
            preds_T=dict(from_student=False, tap='logits'))))
optim_wrapper = dict(discriminator=None)
