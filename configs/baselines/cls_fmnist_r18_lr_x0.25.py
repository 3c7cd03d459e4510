# The LR-only student for Fashion-MNIST at x0.25 (28 -> 7 px).
_base_ = ['./cls_fmnist_r18_lr.py']
data_preprocessor = dict(scale_factor=0.25)
