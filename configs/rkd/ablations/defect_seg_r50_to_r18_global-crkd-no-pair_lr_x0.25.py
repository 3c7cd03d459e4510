# Ablation: global CRKD without its pair part, x0.25
# (../../_base_/recipes/crkd_global.py).
_base_ = [
    '../defect_seg_r50_to_r18_lr.py', '../../_base_/recipes/crkd_global.py'
]
model = dict(
    student=dict(data_preprocessor=dict(scale_factor=0.25)),
    distiller={{_base_.crkd_global_seg_no_pair}})
