"""Files and tables (the "data" floor): model files (:mod:`.files`: atomic writes and ``.npz`` dicts
without pickle; :mod:`.model`: what a trained batch's fields become in one) and tables —
:mod:`.columns` (the one reader: columns picked by name, every cell checked, labels factorized),
:mod:`.frames` (pandas, polars and Arrow tables through narwhals, in and out) and :mod:`.tables`
(CSV, Parquet and numpy's files, for the command line). Nothing here imports the result."""
