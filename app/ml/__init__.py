"""Meta-labelling: features of a signal, a calibrated classifier, its persistence and the filter."""
