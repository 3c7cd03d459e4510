# Entry point: RKD, R50-FPN teacher at HR -> R18-FPN student at x0.25 (32x32).
# The default recipe is dense CRKD without its MMD term; why, and how it was
# chosen: configs/rkd/defect_seg_r50_to_r18_lr.py. The same recipe at
# x0.25: the scale, the student and the weights the rule gives at this
# scale change (the connector follows the scale: 8x8 -> 32x32).
_base_ = ['./rkd-dense_fpn_r50-fpn_r18_1xb8-2k_syndefect-lr64x64.py']
model = dict(
    student=dict(
        cfg_path='{{fileDirname}}/../baselines/defect_seg_r18_lr_x0.25.py'),
    # R = 0.1 at x0.25 (seed 0, trained teacher, 8 batches):
    # work_dirs/grid2k_R0.1_dense-no-mmd/calibration/rkd_x0.25.json
    distill_losses=dict(
        loss_kd=dict(loss_weight=0.10445),
        loss_pair=dict(loss_weight=9.78547),
        loss_mmd=None))
