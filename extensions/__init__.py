"""What the article's nets can be extended with, one module each, each chosen once where the nets are built
(GAN.net_scope: GAN.batch_norm and GAN.variable_getters; SAGAN.__init__ for the paper's block).

conditional.py: class-conditional batch norm for G and the projection term for D, with the labels passed
explicitly; spectral_norm.py and mixed_precision.py: custom getters on a net's variable_scope, which change
how the layers' weights are read; paper_attention.py: the SAGAN paper's attention block. They import ops only.
"""
