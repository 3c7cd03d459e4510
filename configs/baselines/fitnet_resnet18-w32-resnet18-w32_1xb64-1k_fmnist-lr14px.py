# Baseline: FitNet hints (Romero et al. 2015) on the third backbone stage,
# Fashion-MNIST, x0.5 student; the discriminator is off.
_base_ = ['../rkd/rkd_resnet18-w32-resnet18-w32_1xb64-1k_fmnist-lr14px.py']
method_taps = dict(hint='backbone.layer3')
model = dict(
    discriminator=None,
    student_taps=dict(_delete_=True, **method_taps),
    teacher_taps=dict(_delete_=True, **method_taps),
    connectors=dict(
        hint=dict(
            type='rkd_mm.ConvConnector', in_channels=128, out_channels=128)),
    # MSE on the teacher's grid (student map upsampled bilinearly)
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
optim_wrapper = dict(discriminator=None)
