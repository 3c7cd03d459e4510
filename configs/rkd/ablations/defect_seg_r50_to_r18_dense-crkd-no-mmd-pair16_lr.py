# The default recipe at weights 1 with pixel pairs on a 16x16 grid, x0.5: a
# candidate made for cost when the term was computed pair by pair; its Gram
# form (PixelAffinityLoss) has since made the 32x32 pairs affordable.
_base_ = [
    '../defect_seg_r50_to_r18_lr.py', '../../_base_/recipes/crkd_dense.py'
]
model = dict(distiller={{_base_.crkd_dense_pair16}})
