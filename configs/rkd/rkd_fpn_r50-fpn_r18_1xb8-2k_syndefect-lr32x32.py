# RKD at x0.25 (the student sees 32x32); otherwise as the x0.5 config.
_base_ = ['./rkd_fpn_r50-fpn_r18_1xb8-2k_syndefect-lr64x64.py']
model = dict(
    student=dict(
        cfg_path='{{fileDirname}}/../baselines/defect_seg_r18_lr_x0.25.py'))
