# Baseline: vanilla KD (Hinton et al. 2015) on the logits, x0.5 student.
# Everything but the distillation terms (data, schedule, optimizer, teacher
# checkpoint, student, 100-iteration warm-up) is the RKD config's, so every
# method follows one protocol; the discriminator is off.
_base_ = ['../rkd/rkd_fpn_r50-fpn_r18_1xb8-2k_syndefect-lr64x64.py']
# logits: decode_head.conv_seg output (5 classes, stride 4); the student's
# are resized bilinearly to the teacher's grid inside the loss
method_taps = dict(logits='decode_head.conv_seg')
model = dict(
    discriminator=None,
    student_taps=dict(_delete_=True, **method_taps),
    teacher_taps=dict(_delete_=True, **method_taps),
    # tau = 4, weight 1: Hinton's tau^2-scaled KL at a common temperature;
    # detail_weight=0 makes ResolutionAwareKDLoss plain Hinton KD
    distill_losses=dict(
        _delete_=True,
        loss_kd=dict(
            type='rkd_mm.ResolutionAwareKDLoss',
            tau=4.0,
            detail_weight=0.0,
            loss_weight=1.0)),
    loss_inputs=dict(
        _delete_=True,
        loss_kd=dict(
            preds_S=dict(from_student=True, tap='logits'),
            preds_T=dict(from_student=False, tap='logits'))))
# no discriminator, no discriminator optimizer (the constructor skips it)
optim_wrapper = dict(discriminator=None)
