# Lever: global CRKD with the KD term only where the HR teacher's prediction
# is right (gate='teacher_correct'); elsewhere the student learns from the
# labels, x0.5.
_base_ = [
    '../defect_seg_r50_to_r18_lr.py', '../../_base_/recipes/crkd_global.py'
]
model = dict(
    distiller={{_base_.crkd_global_seg_kd_gated}})
