# Ablation: global CRKD without its mmd part, x0.5
# (../../_base_/recipes/crkd_global.py).
_base_ = [
    '../defect_seg_r50_to_r18_lr.py', '../../_base_/recipes/crkd_global.py'
]
model = dict(
    distiller={{_base_.crkd_global_seg_no_mmd}})
