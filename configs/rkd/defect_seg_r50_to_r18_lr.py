# Entry point: RKD, R50-FPN teacher at HR -> R18-FPN student at x0.5.
_base_ = ['./rkd_fpn_r50-fpn_r18_1xb8-2k_syndefect-lr64x64.py']
