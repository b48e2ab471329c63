"""One model on several devices and machines: towers with one copy of the variables and --sync_bn's
all-reduce (replicas), and --devices, --cluster and TF_CONFIG with their servers and workers (cluster).

May import common, config and ops (whose batch statistics a tower replaces); GAN.py imports replicas to build
towers.
"""
