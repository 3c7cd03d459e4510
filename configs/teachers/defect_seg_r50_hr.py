# Entry point: the HR teacher for defect segmentation.
_base_ = ['./fpn_r50_1xb8-2k_syndefect-128x128.py']
