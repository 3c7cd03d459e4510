# Variants of the default RKD recipe (dense CRKD without MMD,
# configs/rkd/defect_seg_r50_to_r18_lr.py) as changes to its distiller; an
# ablation merges one in: model = dict(distiller={{_base_.<name>}}).
# The weights before the rule set them: KD 1, pixel pairs 1 (adversarial
# 0.1, as in the default).
crkd_dense_unit_weights = dict(
    distill_losses=dict(
        loss_kd=dict(loss_weight=1.0), loss_pair=dict(loss_weight=1.0)))
# with its pixel-MMD term: the MMD between the student's and the teacher's
# pixel embeddings of each class (labels by block majority on the aligned
# grid), weight 1
crkd_dense_mmd = dict(
    distill_losses=dict(
        crkd_dense_unit_weights['distill_losses'],
        loss_mmd=dict(
            type='rkd_mm.PixelMMDLoss',
            mode='class',
            max_samples=1024,
            loss_weight=1.0)),
    loss_inputs=dict(
        loss_mmd=dict(
            preds_S=dict(from_student=True, tap='feat', connector='feat'),
            preds_T=dict(from_student=False, tap='feat'),
            gt='gt')))
# pixel pairs on a 16x16 grid: both aligned maps area-pooled first (Liu et
# al. 2019 pool nodes to bound the cost; 65k pairs per image instead of 1M)
crkd_dense_pair16 = dict(
    distill_losses=dict(
        loss_kd=dict(loss_weight=1.0),
        loss_pair=dict(loss_weight=1.0, grid_size=16)))
# with MMD and a teacher assistant that sees the x0.5 view: its feat grid
# is 16x16, so the connector's scale='auto' becomes 2 at x0.25 and the
# discriminator follows
crkd_dense_mmd_ta = dict(
    crkd_dense_mmd, adversarial=dict(discriminator=dict(grid_size=16)))
