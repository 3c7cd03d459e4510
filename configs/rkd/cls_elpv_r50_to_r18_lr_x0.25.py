# Entry point: RKD on ELPV on a GPU at x0.25 (300 -> 75 px): the student
# changes.
_base_ = ['./rkd_resnet50-resnet18_1xb32-5k_elpv-lr150px.py']
model = dict(
    student=dict(
        cfg_path='{{fileDirname}}/../baselines/cls_elpv_r18_lr_x0.25.py'))
