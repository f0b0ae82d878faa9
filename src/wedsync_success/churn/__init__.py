"""Churn prediction: point-in-time features, a calibrated LightGBM model with a registry,
vectorised scoring with a prediction log, explanations from SHAP values, drift, and
bring-your-own-data training. See ``docs/churn.md``."""
