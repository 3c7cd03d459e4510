# The LR-only student for defect segmentation at x0.25 (128 -> 32 px).
_base_ = ['./defect_seg_r18_lr.py']
model = dict(data_preprocessor=dict(scale_factor=0.25))
