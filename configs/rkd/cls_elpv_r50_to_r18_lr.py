# Entry point: RKD on ELPV on a GPU, ResNet-50 at 300x300 -> ResNet-18 at
# x0.5 (150x150). On a 2-core CPU use cls_elpv_mnv2_to_mnv2_lr_x0.25.py.
_base_ = ['./rkd_resnet50-resnet18_1xb32-5k_elpv-lr150px.py']
