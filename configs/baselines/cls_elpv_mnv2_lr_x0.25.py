# The LR-only student for ELPV at x0.25 (224 -> 56 px).
_base_ = ['./cls_elpv_mnv2_lr.py']
data_preprocessor = dict(scale_factor=0.25)
