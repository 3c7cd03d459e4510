# Relational KD (Park et al., CVPR 2019; *Relational*, not this project's
# Resolution-aware KD), the paper's weights: distance 25, angle 50, on one
# embedding per image (4-D maps are globally average-pooled in the loss).
_relkd_loss = dict(
    type='rkd_mm.RelationalKDLoss',
    distance_weight=25.0,
    angle_weight=50.0,
    loss_weight=1.0)
_relkd_inputs = dict(
    preds_S=dict(from_student=True, tap='feat'),
    preds_T=dict(from_student=False, tap='feat'))
# the fused FPN-head feature (128 channels, before the head's Dropout2d)
_seg_feat = dict(feat=dict(module='decode_head.dropout', source='input'))
relkd_seg = dict(
    _delete_=True,
    type='rkd_mm.ConfigurableDistiller',
    student_taps=_seg_feat,
    teacher_taps=_seg_feat,
    distill_losses=dict(loss_relkd=_relkd_loss),
    loss_inputs=dict(loss_relkd=_relkd_inputs))
# the pooled feature (the head's input)
relkd_cls = dict(
    relkd_seg,
    student_taps=dict(feat=dict(module='neck', index=0)),
    teacher_taps=dict(feat=dict(module='neck', index=0)))
# the embedding re-ID compares (the BNNeck output)
relkd_emb = dict(
    relkd_seg,
    student_taps=dict(feat='head.bnneck'),
    teacher_taps=dict(feat='head.bnneck'))
