# The LR-only ResNet-18 for ELPV on a GPU at x0.25 (300 -> 75 px).
_base_ = ['./cls_elpv_r18_lr.py']
data_preprocessor = dict(scale_factor=0.25)
