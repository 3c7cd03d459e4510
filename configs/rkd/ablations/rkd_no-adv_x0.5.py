# Ablation: RKD without the discriminator (CRKD loss only).
_base_ = ['../rkd_fpn_r50-fpn_r18_1xb8-2k_syndefect-lr64x64.py']
model = dict(discriminator=None)
optim_wrapper = dict(discriminator=None)
