# KD baseline for face verification on Fashion-MNIST, x0.5: Hinton KD on
# the identity cosines at tau 4 / 16 (../_base_/recipes/kd.py) in place of
# RKD's distiller, on the RKD config's protocol.
_base_ = ['../rkd/face_fmnist_r18_to_r18_lr.py', '../_base_/recipes/kd.py']
model = dict(distiller={{_base_.kd_face}})
