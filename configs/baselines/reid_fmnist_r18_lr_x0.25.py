# The LR-only re-ID student on Fashion-MNIST at x0.25 (7x7).
_base_ = ['./reid_fmnist_r18_lr.py']
data_preprocessor = dict(scale_factor=0.25)
