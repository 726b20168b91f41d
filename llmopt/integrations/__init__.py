"""llmopt inside other tools: Optuna's samplers."""
