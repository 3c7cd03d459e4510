# Baseline: attention transfer (Zagoruyko & Komodakis 2017), x0.5 student.
# The protocol (data, schedule, optimizer, teacher, student, warm-up) is the
# RKD config's; the discriminator is off.
_base_ = ['../rkd/rkd_fpn_r50-fpn_r18_1xb8-2k_syndefect-lr64x64.py']
# backbone stages 2-4 (strides 8, 16, 32); attention maps are channel means,
# so R18's and R50's widths need no connector
method_taps = dict(
    stage2='backbone.layer2',
    stage3='backbone.layer3',
    stage4='backbone.layer4')
# p = 2; the student's attention map is upsampled to the teacher's grid
# (16x16, 8x8, 4x4 at 128 px). The loss is the authors' code's at_loss (the
# mean over samples and locations of the squared difference of the
# normalised maps) and each stage weighs their beta = 1000 (cifar.py and
# imagenet.py add beta * at_loss per stage, run with --beta 1e+3); the mean
# divides by each grid's H * W, so one weight serves all stages
at = dict(type='rkd_mm.AttentionTransferLoss', p=2.0,
          align='upsample_student', loss_weight=1000.0)
model = dict(
    discriminator=None,
    student_taps=dict(_delete_=True, **method_taps),
    teacher_taps=dict(_delete_=True, **method_taps),
    distill_losses=dict(
        _delete_=True,
        loss_at2=dict(at),
        loss_at3=dict(at),
        loss_at4=dict(at)),
    loss_inputs=dict(
        _delete_=True,
        loss_at2=dict(
            preds_S=dict(from_student=True, tap='stage2'),
            preds_T=dict(from_student=False, tap='stage2')),
        loss_at3=dict(
            preds_S=dict(from_student=True, tap='stage3'),
            preds_T=dict(from_student=False, tap='stage3')),
        loss_at4=dict(
            preds_S=dict(from_student=True, tap='stage4'),
            preds_T=dict(from_student=False, tap='stage4'))))
optim_wrapper = dict(discriminator=None)
