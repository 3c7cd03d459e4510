# Baseline: relational KD (Park et al. 2019) on the embedding retrieval
# compares (the BNNeck output), re-ID on Fashion-MNIST, x0.5 student; the
# discriminator is off. (The face configs' embedding is the pooled
# feature: they use the classification recipe.)
_base_ = [
    '../rkd/rkd_resnet18-w32-bnneck-resnet18-w32-bnneck_1xb64-1k_'
    'fmnist-reid-lr14px.py'
]
model = dict(
    discriminator=None,
    student_taps=dict(_delete_=True, emb='head.bnneck'),
    teacher_taps=dict(_delete_=True, emb='head.bnneck'),
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
            preds_S=dict(from_student=True, tap='emb'),
            preds_T=dict(from_student=False, tap='emb'))))
optim_wrapper = dict(discriminator=None)
