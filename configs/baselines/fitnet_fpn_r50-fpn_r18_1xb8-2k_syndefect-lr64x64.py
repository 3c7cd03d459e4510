# Baseline: FitNets hint (Romero et al. 2015), x0.5 student. The protocol
# (data, schedule, optimizer, teacher, student, warm-up) is the RKD
# config's; the discriminator is off.
_base_ = ['../rkd/rkd_fpn_r50-fpn_r18_1xb8-2k_syndefect-lr64x64.py']
# hint/guided layer: backbone stage 3 (backbone.layer3, stride 16), 1024
# channels in R50 and 256 in R18: a 1x1 ConvConnector (the regressor,
# trained with the student, dropped at deployment) maps 256 -> 1024
method_taps = dict(hint='backbone.layer3')
model = dict(
    discriminator=None,
    student_taps=dict(_delete_=True, **method_taps),
    teacher_taps=dict(_delete_=True, **method_taps),
    connectors=dict(
        hint=dict(
            type='rkd_mm.ConvConnector', in_channels=256,
            out_channels=1024)),
    # MSE on the teacher's grid (student map upsampled bilinearly); weight 1
    # (the paper trains the hint stage on its own, so it sets no weight)
    distill_losses=dict(
        _delete_=True,
        loss_fitnet=dict(
            type='rkd_mm.FitNetLoss', align='upsample_student',
            loss_weight=1.0)),
    loss_inputs=dict(
        _delete_=True,
        loss_fitnet=dict(
            preds_S=dict(from_student=True, tap='hint', connector='hint'),
            preds_T=dict(from_student=False, tap='hint'))))
# the connector joins the student's optimizer; no discriminator optimizer
optim_wrapper = dict(discriminator=None)
