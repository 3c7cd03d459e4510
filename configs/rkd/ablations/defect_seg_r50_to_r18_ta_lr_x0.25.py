# The default recipe at x0.25 with a teacher assistant (Mirzadeh et al.,
# AAAI 2020) instead of the R50 HR teacher: the trained x0.5 LR-only student
# (R18-FPN, seeing the x0.5 view of each batch) teaches the x0.25 student.
# Train the assistant first:
#   python tools/train.py configs/baselines/defect_seg_r18_lr.py
# A distiller checkpoint (e.g. the x0.5 RKD run's) works too: it is read as
# its student part.
_base_ = ['../defect_seg_r50_to_r18_lr.py']
ta_config = '{{fileDirname}}/../../baselines/defect_seg_r18_lr.py'
model = dict(
    student=dict(data_preprocessor=dict(scale_factor=0.25)),
    teacher=dict(cfg_path=ta_config),
    teacher_config=ta_config,
    teacher_ckpt='work_dirs/defect_seg_r18_lr/best_mIoU_iter_*.pth',
    distiller=dict(
        # R = 0.1 with the assistant as teacher (the x0.5 LR-only student
        # of seed 0, 2,000 iterations; seed 0, 8 batches)
        distill_losses=dict(
            loss_kd=dict(loss_weight=0.121642),
            loss_pair=dict(loss_weight=3.57546)),
        # the assistant sees the x0.5 view: its feat grid is 16x16, so the
        # connector's scale='auto' becomes 2 (8x8 -> 16x16) and the
        # discriminator follows
        adversarial=dict(discriminator=dict(grid_size=16))))
