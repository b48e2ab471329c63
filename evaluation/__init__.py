"""How good the samples are, and what attention looks at: the metrics' classifier, the metrics, the
yardstick they are read off (reference, floor, spread, memorisation), --phase eval, --phase compare with its
report, --phase attention's maps, and the yardstick's calibration (python -m evaluation.calibrate).

May import common, training (its logs and folder names) and the top-level modules; models are built
through config.model_class. Imported by main, bench, export (the model card reads metrics.json) and scripts/.
"""
