# Lever: distil the KD term only where the HR teacher's prediction is right
# (gate='teacher_correct'); elsewhere the student learns from the labels.
_base_ = ['../rkd_fpn_r50-fpn_r18_1xb8-2k_syndefect-lr64x64.py']
model = dict(
    distill_losses=dict(loss_kd=dict(gate='teacher_correct')),
    loss_inputs=dict(loss_kd=dict(gt='gt')))
