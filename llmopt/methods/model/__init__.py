"""Methods whose proposals come from the optimizer model: OPRO, its ablations, EvoPrompt and LMX."""
