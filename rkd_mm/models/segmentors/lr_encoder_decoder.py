"""An mmseg ``EncoderDecoder`` for low-resolution inputs, scored at the
label size exactly as it is trained."""
from mmseg.models.segmentors import EncoderDecoder
from mmseg.utils import OptSampleList, SampleList
from torch import Tensor

from rkd_mm.registry import MODELS


@MODELS.register_module()
class LREncoderDecoder(EncoderDecoder):
    """``EncoderDecoder`` that sees an LR image and predicts at HR.

    An LR model (an LR data preprocessor, e.g. the student of
    :class:`~rkd_mm.models.ResolutionAwareDistiller`) sees a downscaled
    image while its label map stays at HR. In training, mmseg's decode head
    resizes the logit grid to the label size in **one** bilinear step. Stock
    ``EncoderDecoder.predict`` resizes the grid to the samples' padded
    ``img_shape`` and then, in ``postprocess_result``, to ``ori_shape``.
    The LR data preprocessors leave the samples' HR ``img_shape``, so there
    the two paths agree; but samples that record a smaller ``img_shape``
    (an image resized in the pipeline, a caller's own metadata) get two
    bilinear steps, other per-pixel predictions than the function the loss
    trained. Here the grid goes to ``ori_shape`` in one step whatever the
    samples record, so the LR-only config, the distiller and an extracted
    student give identical predictions for the same weights (tested), and
    these are the predictions the loss trained. At HR input it is
    ``EncoderDecoder``.

    Only ``test_cfg.mode='whole'`` and unpadded batches are supported (the
    configs set ``size_divisor=1``): a sliding window or padding would tie
    the output to the LR input's own geometry. Without data samples the
    output has the input's size, as in mmseg.

    Args: as :class:`mmseg.models.segmentors.EncoderDecoder`.
    """

    def predict(self, inputs: Tensor,
                data_samples: OptSampleList = None) -> SampleList:
        """Predict at each sample's ``ori_shape`` (the label size) in one
        bilinear step from the logit grid.

        Args:
            inputs: LR inputs ``(N, C, h, w)``.
            data_samples: The seg data samples; their ``ori_shape`` is the
                output size.

        Returns:
            list[SegDataSample]: With ``pred_sem_seg`` and ``seg_logits``
            at ``ori_shape``.
        """
        if data_samples is None:
            return super().predict(inputs, data_samples)
        mode = self.test_cfg.get('mode', 'whole')
        if mode != 'whole':
            raise ValueError(
                f"LREncoderDecoder supports test_cfg.mode='whole' only, got "
                f"{mode!r}: an LR input is small enough to run whole, and a "
                'sliding window would resize its crops at LR first.')
        metas = [self._label_size_meta(s.metainfo) for s in data_samples]
        sizes = {tuple(meta['ori_shape'][:2]) for meta in metas}
        if len(sizes) > 1:
            raise ValueError(
                f'LREncoderDecoder: one batch holds label sizes {sizes}; '
                'use batch_size=1 or equal-size images.')
        return self.postprocess_result(
            self.inference(inputs, metas), data_samples)

    @staticmethod
    def _label_size_meta(meta: dict) -> dict:
        """A copy of ``meta`` whose output sizes are ``ori_shape``."""
        padding = meta.get('img_padding_size', meta.get('padding_size'))
        if padding is not None and any(padding):
            raise ValueError(
                f'LREncoderDecoder got a padded input (padding {padding}): '
                'an LR image and its HR label map must stay aligned; set '
                'data_preprocessor.size_divisor=1 and no pad in the test '
                'pipeline.')
        meta = dict(meta)
        # predict_by_feat resizes to pad_shape, postprocess_result then to
        # ori_shape: make the first resize the only one
        meta['img_shape'] = meta['pad_shape'] = tuple(meta['ori_shape'][:2])
        return meta


__all__ = ['LREncoderDecoder']
