# The LR-only face-verification student on Fashion-MNIST at x0.25 (7x7).
_base_ = ['./face_fmnist_r18_lr.py']
data_preprocessor = dict(scale_factor=0.25)
