# KD baseline, Fashion-MNIST classification, x0.5: ../_base_/recipes/fitnet.py
# in place of RKD's distiller, on the RKD config's protocol.
_base_ = [
    '../rkd/cls_fmnist_r18_to_r18_lr.py', '../_base_/recipes/fitnet.py'
]
model = dict(distiller={{_base_.fitnet_cls}})
