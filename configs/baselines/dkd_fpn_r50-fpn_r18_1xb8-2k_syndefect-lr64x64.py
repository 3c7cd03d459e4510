# Baseline: decoupled KD (Zhao et al. 2022), x0.5 student. The protocol
# (data, schedule, optimizer, teacher, student, warm-up) is the RKD config's;
# the discriminator is off.
_base_ = ['../rkd/rkd_fpn_r50-fpn_r18_1xb8-2k_syndefect-lr64x64.py']
# the logits (decode_head.conv_seg output, 5 classes, stride 4), per pixel:
# the student's are upsampled bilinearly to the teacher's grid and each
# cell takes the majority HR label ('gt') it covers; ignored pixels (255)
# do not vote and all-ignored cells are skipped
method_taps = dict(logits='decode_head.conv_seg')
model = dict(
    discriminator=None,
    student_taps=dict(_delete_=True, **method_taps),
    teacher_taps=dict(_delete_=True, **method_taps),
    # the paper's defaults (its CIFAR-100 setting): alpha 1, beta 8, tau 4
    distill_losses=dict(
        _delete_=True,
        loss_dkd=dict(
            type='rkd_mm.DecoupledKDLoss',
            alpha=1.0,
            beta=8.0,
            tau=4.0,
            ignore_index=255,
            loss_weight=1.0)),
    loss_inputs=dict(
        _delete_=True,
        loss_dkd=dict(
            preds_S=dict(from_student=True, tap='logits'),
            preds_T=dict(from_student=False, tap='logits'),
            gt='gt')))
optim_wrapper = dict(discriminator=None)
