# FitNets (Romero et al., ICLR 2015): the student's layer3 through a 1x1
# regressor to the teacher's width, MSE on the teacher's grid (student map
# upsampled bilinearly); weight 1 (the paper trains the hint stage on its
# own, so it sets no weight).
_fitnet_inputs = dict(
    preds_S=dict(from_student=True, tap='hint', connector='hint'),
    preds_T=dict(from_student=False, tap='hint'))
fitnet_seg = dict(
    _delete_=True,
    type='rkd_mm.ConfigurableDistiller',
    student_taps=dict(hint='backbone.layer3'),
    teacher_taps=dict(hint='backbone.layer3'),
    connectors=dict(
        hint=dict(
            type='rkd_mm.ConvConnector', in_channels=256,
            out_channels=1024)),
    distill_losses=dict(
        loss_fitnet=dict(
            type='rkd_mm.FitNetLoss', align='upsample_student',
            loss_weight=1.0)),
    loss_inputs=dict(loss_fitnet=_fitnet_inputs))
# ResNet-18 at half width on both sides: 128 channels at layer3
fitnet_cls = dict(
    fitnet_seg,
    connectors=dict(
        hint=dict(
            type='rkd_mm.ConvConnector', in_channels=128,
            out_channels=128)))
