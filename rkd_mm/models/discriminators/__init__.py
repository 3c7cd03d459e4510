from .feature_discriminator import FeatureDiscriminator
from .patch_discriminator import PatchDiscriminator

__all__ = ['FeatureDiscriminator', 'PatchDiscriminator']
