"""Serving a batch outside Python: every model in one ONNX graph (:mod:`.onnx`)."""
