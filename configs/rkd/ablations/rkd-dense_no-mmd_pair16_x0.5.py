# Dense CRKD without MMD, pixel pairs on a 16x16 grid: both aligned feat maps
# area-pooled to 16x16 before the affinities (Liu et al. 2019 pool nodes to
# bound the cost; 65k pairs per image instead of 1M at 32x32). A candidate
# made for cost when the term was computed pair by pair; its Gram form
# (PixelAffinityLoss) has since made the 32x32 pairs affordable.
_base_ = ['./rkd-dense_no-mmd_x0.5.py']
model = dict(distill_losses=dict(loss_pair=dict(grid_size=16)))
