"""Files (the "data" floor): model files (:mod:`.files`: atomic writes and ``.npz`` dicts without
pickle; :mod:`.model`: what a trained batch's fields become in one) and tables (:mod:`.tables`: CSV,
Parquet and numpy's files, for the command line). Nothing here imports the result."""
