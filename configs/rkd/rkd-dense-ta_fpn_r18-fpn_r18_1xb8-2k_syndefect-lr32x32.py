# Dense CRKD at x0.25 with a teacher assistant (Mirzadeh et al., AAAI 2020):
# the trained x0.5 dense-CRKD student (R18-FPN, sees the x0.5 view) teaches
# the x0.25 student instead of the R50 HR teacher, whose gap to a 32x32
# student is the largest. Train the x0.5 run first:
#   python tools/train.py configs/rkd/rkd-dense_fpn_r50-fpn_r18_1xb8-2k_syndefect-lr64x64.py
# Its distiller checkpoint is read as the teacher (its student part).
_base_ = ['./rkd-dense_fpn_r50-fpn_r18_1xb8-2k_syndefect-lr32x32.py']
ta_config = '{{fileDirname}}/../baselines/defect_seg_r18_lr.py'
model = dict(
    teacher=dict(cfg_path=ta_config),
    teacher_config='{{fileDirname}}/'
    'rkd-dense_fpn_r50-fpn_r18_1xb8-2k_syndefect-lr64x64.py',
    teacher_ckpt='work_dirs/rkd-dense_fpn_r50-fpn_r18_1xb8-2k_syndefect-'
    'lr64x64/best_mIoU_iter_*.pth',
    # the assistant sees the x0.5 view (its config's LR data preprocessor);
    # its feat grid is 16x16, so the connector's scale='auto' becomes 2
    # (8x8 -> 16x16)
    discriminator=dict(grid_size=16))
