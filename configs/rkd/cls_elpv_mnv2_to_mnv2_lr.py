# Entry point: RKD on ELPV at x0.5 (224 -> 112 px): the student changes.
_base_ = ['./rkd_mobilenet-v2-mobilenet-v2_1xb32-600it_elpv-lr56px.py']
model = dict(
    student=dict(cfg_path='{{fileDirname}}/../baselines/cls_elpv_mnv2_lr.py'))
