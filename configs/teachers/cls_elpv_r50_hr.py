# Entry point: the HR teacher for ELPV on a GPU (ResNet-50, 300x300, from
# scratch, 4 levels). On a 2-core CPU use cls_elpv_mnv2_hr.py.
_base_ = ['./resnet50_1xb32-5k_elpv-300px.py']
