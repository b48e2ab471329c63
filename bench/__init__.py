"""The benchmark, python -m bench: training steps, sampling, evaluation and a real epoch timed as ratios
within one run (run), the step timings (steps), their tables (tables), one device against two towers
(scaling, a child process), and in results/ the tables of earlier runs.

May import anything of the project; nothing imports it.
"""
