"""SAGAN: the article's change to the GAN framework, self-attention on the 7x7x128 maps of G and D; as options,
the SAGAN paper's block (--attention paper) and the 14x14 maps (--attention_at)."""
from GAN import GAN
from extensions.paper_attention import paper_attention
from ops import attention, bn


class SAGAN(GAN):
    """GAN with a self-attention block after G's reshape and after D's second conv block.

    G: z(62)-FC1024_BR-FC7x7x128_BR-ATT-(64)4dc2s_BR-(1)4dc2s_S
    D: (64)4c2s_L-(128)4c2s_BL-ATT-FC1024_BL-FC1
    --attention_at 14 moves the blocks to the 14x14 maps (after g_dc3, after d_conv1), 7,14 uses both.
    """
    model_name = "SAGAN"

    def attention_slot(self, net, side, is_training, reuse, norm=bn):
        """Self-attention at the sides of --attention_at, under <net>/attention (7) or <net>/attention_14;
        batch-normed (norm) and spectral-normed (the net's getter) as the net around it is."""
        config = self.config
        if side not in config.attention_at:
            return net
        scope = "attention" if side == 7 else f"attention_{side}"
        if config.attention == "paper":
            return paper_attention(net, scope=scope, reuse=reuse)
        return attention(net, is_training, scope=scope, reuse=reuse, norm=norm)

    def attention_names(self):
        """(net, side) of each attention block, in the order the nets build them: G from 7, D from 14."""
        sides = self.config.attention_at
        return ([("generator", side) for side in sides]
                + [("discriminator", side) for side in sorted(sides, reverse=True)])
