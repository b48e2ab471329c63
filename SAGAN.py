"""SAGAN: the article's change to the GAN framework, self-attention on the 7x7x128 maps of G and D."""
from GAN import GAN
from ops import attention


class SAGAN(GAN):
    """GAN with a self-attention block after G's reshape and after D's second conv block.

    G: z(62)-FC1024_BR-FC7x7x128_BR-ATT-(64)4dc2s_BR-(1)4dc2s_S
    D: (64)4c2s_L-(128)4c2s_BL-ATT-FC1024_BL-FC1
    """
    model_name = "SAGAN"

    def attention_slot(self, net, is_training, reuse, batch_parts=1):
        """Self-attention, under <generator or discriminator>/attention."""
        return attention(net, is_training, scope="attention", reuse=reuse, literal_ops=self.literal_ops,
                         batch_parts=batch_parts)
