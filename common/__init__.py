"""What every role of the program stands on: its deliberate errors (errors), Ctrl-C and SIGTERM wherever they
land (interrupts), TensorFlow imported quietly in graph mode (tfenv), the datasets as checked IDX files
(data), and graph-building helpers that are no layer (graph).

Imports nothing of the project: every other package and the top-level modules may import it.
"""
