# The cwd baseline at x0.25 (the student sees 32x32): its x0.5 config with
# the RKD x0.25 config's changes (the student, whose data preprocessor holds the scale; checked by
# tests/test_configs/test_baseline_configs.py).
_base_ = ['./cwd_fpn_r50-fpn_r18_1xb8-2k_syndefect-lr64x64.py']
model = dict(
    student=dict(
        cfg_path='{{fileDirname}}/defect_seg_r18_lr_x0.25.py'))
