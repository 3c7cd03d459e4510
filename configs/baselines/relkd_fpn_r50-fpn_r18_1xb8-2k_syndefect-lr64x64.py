# Baseline: Relational KD (Park et al. 2019; *Relational*, not this
# project's Resolution-aware KD), x0.5 student. The protocol (data,
# schedule, optimizer, teacher, student, warm-up) is the RKD config's; the
# discriminator is off.
_base_ = ['../rkd/rkd_fpn_r50-fpn_r18_1xb8-2k_syndefect-lr64x64.py']
# the fused FPN-head feature (128 channels, taken before the head's
# Dropout2d so the student's has no dropout zeros), globally average-pooled
# to one embedding per image inside the loss
method_taps = dict(feat=dict(module='decode_head.dropout', source='input'))
model = dict(
    discriminator=None,
    student_taps=dict(_delete_=True, **method_taps),
    teacher_taps=dict(_delete_=True, **method_taps),
    # the paper's weights: distance 25, angle 50
    distill_losses=dict(
        _delete_=True,
        loss_relkd=dict(
            type='rkd_mm.RelationalKDLoss',
            distance_weight=25.0,
            angle_weight=50.0,
            loss_weight=1.0)),
    loss_inputs=dict(
        _delete_=True,
        loss_relkd=dict(
            preds_S=dict(from_student=True, tap='feat'),
            preds_T=dict(from_student=False, tap='feat'))))
optim_wrapper = dict(discriminator=None)
