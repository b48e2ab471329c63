"""What the article's nets can be extended with, one module each, each chosen once where the nets are built.

conditional.py: class-conditional batch norm for G and the projection term for D, with the labels passed
explicitly; paper_attention.py: the SAGAN paper's attention block. They import ops only.
"""
