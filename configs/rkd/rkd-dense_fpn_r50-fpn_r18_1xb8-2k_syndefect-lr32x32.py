# Dense CRKD at x0.25 (the student sees 32x32, its feat grid is 8x8): the
# x0.5 dense config with the scale and the student changed (the connector's
# scale='auto' becomes 4: 8x8 -> the teacher's 32x32).
_base_ = ['./rkd-dense_fpn_r50-fpn_r18_1xb8-2k_syndefect-lr64x64.py']
model = dict(
    student=dict(
        cfg_path='{{fileDirname}}/../baselines/defect_seg_r18_lr_x0.25.py'))
