"""Scale benchmark of `sre diagnose` against `kubectl get` (run: `python -m bench.scale`)."""
