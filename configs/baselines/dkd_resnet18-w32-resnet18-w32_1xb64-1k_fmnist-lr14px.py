# Baseline: decoupled KD (Zhao et al. 2022) on the logits, Fashion-MNIST,
# x0.5 student; the discriminator is off.
_base_ = ['../rkd/rkd_resnet18-w32-resnet18-w32_1xb64-1k_fmnist-lr14px.py']
method_taps = dict(logits='head.fc')
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
            loss_weight=1.0)),
    loss_inputs=dict(
        _delete_=True,
        loss_dkd=dict(
            preds_S=dict(from_student=True, tap='logits'),
            preds_T=dict(from_student=False, tap='logits'),
            gt='gt')))
optim_wrapper = dict(discriminator=None)
