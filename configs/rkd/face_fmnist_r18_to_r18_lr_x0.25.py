# Entry point: RKD for face verification on Fashion-MNIST at x0.25 (7x7):
# the student changes.
_base_ = [
    './rkd_resnet18-w32-arcface-resnet18-w32-arcface_1xb64-1k_'
    'fmnist-face-lr14px.py'
]
model = dict(
    student=dict(
        cfg_path='{{fileDirname}}/../baselines/face_fmnist_r18_lr_x0.25.py'))
