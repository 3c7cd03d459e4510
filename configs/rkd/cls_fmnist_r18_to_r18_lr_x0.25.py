# Entry point: RKD on Fashion-MNIST at x0.25 (28 -> 7 px): the scale and the
# student's LR-only config change.
_base_ = ['./rkd_resnet18-w32-resnet18-w32_1xb64-1k_fmnist-lr14px.py']
model = dict(
    student=dict(
        cfg_path='{{fileDirname}}/../baselines/cls_fmnist_r18_lr_x0.25.py'))
