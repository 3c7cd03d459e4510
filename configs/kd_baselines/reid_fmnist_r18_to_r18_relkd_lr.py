# Relational KD baseline for re-ID on Fashion-MNIST, x0.5: Park et al.'s
# loss on the BNNeck embedding (../_base_/recipes/relkd.py) in place of
# RKD's distiller, on the RKD config's protocol.
_base_ = [
    '../rkd/reid_fmnist_r18_to_r18_lr.py', '../_base_/recipes/relkd.py'
]
model = dict(distiller={{_base_.relkd_emb}})
