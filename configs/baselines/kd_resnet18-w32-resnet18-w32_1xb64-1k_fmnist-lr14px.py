# Baseline: vanilla KD (Hinton et al. 2015) on the logits, Fashion-MNIST,
# x0.5 student. Everything but the distillation terms is the RKD config's,
# so every method follows one protocol; the discriminator is off.
_base_ = ['../rkd/rkd_resnet18-w32-resnet18-w32_1xb64-1k_fmnist-lr14px.py']
method_taps = dict(logits='head.fc')
model = dict(
    discriminator=None,
    student_taps=dict(_delete_=True, **method_taps),
    teacher_taps=dict(_delete_=True, **method_taps),
    # tau = 4: Hinton's tau^2-scaled KL; detail_weight=0 makes
    # ResolutionAwareKDLoss plain Hinton KD
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
optim_wrapper = dict(discriminator=None)
