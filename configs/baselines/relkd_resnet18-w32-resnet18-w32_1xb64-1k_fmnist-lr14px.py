# Baseline: relational KD (Park et al. 2019) on the pooled features,
# Fashion-MNIST, x0.5 student; the discriminator is off.
_base_ = ['../rkd/rkd_resnet18-w32-resnet18-w32_1xb64-1k_fmnist-lr14px.py']
method_taps = dict(feat=dict(module='neck', index=0))
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
