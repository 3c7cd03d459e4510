# Baseline: vanilla KD (Hinton et al. 2015) on ArcFace's identity logits,
# face verification on Fashion-MNIST, x0.5 student; the discriminator is
# off. The logits are scale x cos (scale 16): Hinton's tau = 4 on them is
# tau = 4 / 16 on the cosines the tap records.
_base_ = [
    '../rkd/rkd_resnet18-w32-arcface-resnet18-w32-arcface_1xb64-1k_'
    'fmnist-face-lr14px.py'
]
model = dict(
    discriminator=None,
    student_taps=dict(_delete_=True, logits='head.norm_product'),
    teacher_taps=dict(_delete_=True, logits='head.norm_product'),
    distill_losses=dict(
        _delete_=True,
        loss_kd=dict(
            type='rkd_mm.ResolutionAwareKDLoss',
            tau=4.0 / 16,
            detail_weight=0.0,
            loss_weight=1.0)),
    loss_inputs=dict(
        _delete_=True,
        loss_kd=dict(
            preds_S=dict(from_student=True, tap='logits'),
            preds_T=dict(from_student=False, tap='logits'))))
optim_wrapper = dict(discriminator=None)
