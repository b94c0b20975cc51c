"""Training of the detectors (needs torch; never imported by the runtime)."""
