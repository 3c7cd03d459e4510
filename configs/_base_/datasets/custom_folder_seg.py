# Your own images for segmentation, in mmseg's folder layout
#   <data_root>/img_dir/{train,val,test}/<name>.png   images
#   <data_root>/ann_dir/{train,val,test}/<name>.png   label maps: one uint8
#       grey level per pixel, the class index 0..C-1 (255: ignored)
# for a config that inherits one of ours (docs/new_task.md). It adds one
# key that none of our configs has, so it can sit beside any of them in
# _base_, and a user config puts the three data sets into the loaders:
#   data = dict(data_root='data/my_defects',
#               metainfo=dict(classes=(...), palette=[...]))
#   train_dataloader = dict(dataset=dict(_base_.seg_folder.train, **data))
# (and val, test alike). Each data set holds _delete_=True: it replaces our
# data set (another type, other fields) instead of being merged into it.
#
# * mmseg's BaseSegDataset with reduce_zero_label=False: label 0 is a class
#   (the background, usually). Other suffixes: img_suffix='.jpg' in `data`.
# * Grey images are read as 3 equal channels (our models are RGB).
# * No resize: the images must share one size (add a Resize step
#   otherwise); the label maps stay at that (HR) size for every model.
# * Flips only, as ours: a finite augmentation set, so a distiller can
#   cache its teacher's outputs.
seg_folder = {
    split: dict(
        _delete_=True,
        type='BaseSegDataset',
        data_prefix=dict(
            img_path=f'img_dir/{split}', seg_map_path=f'ann_dir/{split}'),
        img_suffix='.png',
        seg_map_suffix='.png',
        reduce_zero_label=False,
        pipeline=[dict(type='LoadImageFromFile'),
                  dict(type='LoadAnnotations')] + (
            [dict(type='RandomFlip', prob=0.5, direction='horizontal'),
             dict(type='RandomFlip', prob=0.5, direction='vertical')]
            if split == 'train' else []) + [dict(type='PackSegInputs')])
    for split in ('train', 'val', 'test')
}
