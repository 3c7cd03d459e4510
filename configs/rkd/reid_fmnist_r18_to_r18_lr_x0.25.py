# Entry point: RKD for re-ID on Fashion-MNIST at x0.25 (7x7): the student
# changes.
_base_ = [
    './rkd_resnet18-w32-bnneck-resnet18-w32-bnneck_1xb64-1k_'
    'fmnist-reid-lr14px.py'
]
model = dict(
    student=dict(
        cfg_path='{{fileDirname}}/../baselines/reid_fmnist_r18_lr_x0.25.py'))
