# Ablation: dense CRKD without its pixel MMD term, x0.25 student.
_base_ = ['../rkd-dense_fpn_r50-fpn_r18_1xb8-2k_syndefect-lr32x32.py']
model = dict(distill_losses=dict(loss_mmd=None))
